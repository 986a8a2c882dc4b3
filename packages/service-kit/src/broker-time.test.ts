import { describe, expect, it } from 'vitest';
import { estimateRate, marketPhase, projectBrokerTime, type ClockSample } from './broker-time.js';

const T0 = Date.parse('2026-11-27T14:30:00Z'); // 09:30 ET
const open: ClockSample = {
  localMs: 1_000_000,
  brokerMs: T0,
  isOpen: true,
  nextOpenMs: Date.parse('2026-11-30T14:30:00Z'),
  nextCloseMs: Date.parse('2026-11-27T18:00:00Z'), // half day: 13:00 ET
};

describe('broker time', () => {
  it('treats a real-time broker as rate 1 despite jitter', () => {
    const later = { ...open, localMs: open.localMs + 30_000, brokerMs: open.brokerMs + 30_450 };
    expect(estimateRate(open, later)).toBe(1);
    const quick = { ...open, localMs: open.localMs + 250, brokerMs: open.brokerMs + 300 };
    expect(estimateRate(open, quick)).toBe(1);
  });

  it('measures an accelerated simulator clock', () => {
    const later = { ...open, localMs: open.localMs + 1_000, brokerMs: open.brokerMs + 600_000 };
    expect(estimateRate(open, later)).toBe(600);
    expect(projectBrokerTime(later, 600, later.localMs + 100)).toBe(later.brokerMs + 60_000);
  });

  it('keeps the previous rate when samples are too close or go backwards', () => {
    expect(estimateRate(open, { ...open, localMs: open.localMs + 10, brokerMs: open.brokerMs + 9_000 }, 600)).toBe(600);
    expect(estimateRate(open, { ...open, localMs: open.localMs + 5_000, brokerMs: open.brokerMs - 1 }, 600)).toBe(600);
    expect(estimateRate(null, open, 3)).toBe(3);
  });

  it("sees the half-day close between polls from the clock's own next_close", () => {
    expect(marketPhase(open, Date.parse('2026-11-27T17:59:59Z'), open.localMs, 60_000)).toBe('open');
    expect(marketPhase(open, Date.parse('2026-11-27T18:00:00Z'), open.localMs, 60_000)).toBe('closed');
  });

  it('opens at next_open when closed', () => {
    const closed = { ...open, isOpen: false, nextOpenMs: T0 + 60_000 };
    expect(marketPhase(closed, T0, closed.localMs, 60_000)).toBe('closed');
    expect(marketPhase(closed, T0 + 60_000, closed.localMs, 60_000)).toBe('open');
  });

  it('says unknown, not closed, when the broker has not answered for too long', () => {
    expect(marketPhase(open, T0, open.localMs + 60_001, 60_000)).toBe('unknown');
    expect(marketPhase(null, T0, 0, 60_000)).toBe('unknown');
  });
});
