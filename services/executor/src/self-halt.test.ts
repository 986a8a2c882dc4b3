import { describe, expect, it } from 'vitest';
import { decideSelfHalt, FRESH_BAR_MAX_AGE_MS, showsFreshBar, type SelfHaltInput } from './self-halt.js';

const AFTER = 180_000;
const T0 = 1_000_000;
const open = (over: Partial<SelfHaltInput> = {}): SelfHaltInput => ({
  nowMs: T0,
  phase: 'open',
  halted: false,
  afterMs: AFTER,
  watchdogAt: null,
  freshBarAt: null,
  countingSince: T0,
  ...over,
});

describe('showsFreshBar', () => {
  const broker = Date.parse('2026-11-27T15:32:10Z');

  it('counts the newest bar of any symbol while it ended at most two market minutes ago', () => {
    const hb = { lastBarTBySymbol: { SPY: '2026-11-27T15:31:00Z', AAPL: '2026-11-27T15:20:00Z' } };
    expect(showsFreshBar(hb, broker)).toBe(true);
    expect(showsFreshBar(hb, Date.parse('2026-11-27T15:32:00Z') + FRESH_BAR_MAX_AGE_MS)).toBe(true);
    expect(showsFreshBar(hb, Date.parse('2026-11-27T15:32:00Z') + FRESH_BAR_MAX_AGE_MS + 1)).toBe(false);
  });

  it('is not fresh without bars or without a broker clock reading', () => {
    expect(showsFreshBar({ lastBarTBySymbol: {} }, broker)).toBe(false);
    expect(showsFreshBar({ lastBarTBySymbol: { SPY: '2026-11-27T15:31:00Z' } }, null)).toBe(false);
  });
});

describe('decideSelfHalt', () => {
  it('halts once neither the watchdog nor a fresh bar was heard for SELF_HALT_AFTER_MS of open market', () => {
    expect(decideSelfHalt(open({ nowMs: T0 + AFTER - 1 }))).toEqual({ countingSince: T0, halt: null });
    expect(decideSelfHalt(open({ nowMs: T0 + AFTER }))).toEqual({
      countingSince: T0,
      halt: 'self-halt: no watchdog health and no fresh bar for 180 s of open market',
    });
  });

  it('does not halt while either one is heard', () => {
    const late = T0 + 10 * AFTER;
    expect(decideSelfHalt(open({ nowMs: late, watchdogAt: late - 10_000 })).halt).toBeNull();
    expect(decideSelfHalt(open({ nowMs: late, freshBarAt: late - 1_000 })).halt).toBeNull();
    expect(decideSelfHalt(open({ nowMs: late, watchdogAt: late - AFTER, freshBarAt: late - AFTER - 5 })).halt).toMatch(
      /for 180 s/,
    );
  });

  it('never halts with the market closed or its phase unknown', () => {
    const long = { nowMs: T0 + 10 * AFTER };
    expect(decideSelfHalt(open({ ...long, phase: 'closed' }))).toEqual({ countingSince: null, halt: null });
    expect(decideSelfHalt(open({ ...long, phase: 'unknown' }))).toEqual({ countingSince: T0, halt: null });
  });

  it('counts silence from the open, not through the night before', () => {
    const atOpen = decideSelfHalt(open({ countingSince: null, nowMs: T0, watchdogAt: T0 - 3_600_000 }));
    expect(atOpen).toEqual({ countingSince: T0, halt: null });
    expect(decideSelfHalt(open({ nowMs: T0 + AFTER - 1, watchdogAt: T0 - 3_600_000 })).halt).toBeNull();
  });

  it('while halted does nothing and, once the halt is lifted, gives a full SELF_HALT_AFTER_MS again', () => {
    expect(decideSelfHalt(open({ halted: true, nowMs: T0 + 10 * AFTER }))).toEqual({ countingSince: null, halt: null });
    const resumedAt = T0 + 10 * AFTER;
    expect(decideSelfHalt(open({ countingSince: null, nowMs: resumedAt }))).toEqual({
      countingSince: resumedAt,
      halt: null,
    });
  });
});
