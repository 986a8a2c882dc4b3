import type { Decision } from '@vigil/contracts';
import { describe, expect, it } from 'vitest';
import type { BarOutcome } from './bar-handler.js';
import { strategyHealth } from './health.js';

const none: Record<BarOutcome, number> = { malformed: 0, already_seen: 0, no_signal: 0, stale: 0, signal: 0 };
const decision = (ageMs: number): Decision => ({
  barT: '2026-12-01T14:30:00Z',
  barSource: 'live',
  outcome: 'none',
  decidedAt: '2026-12-01T14:31:01Z',
  ageMs,
});

describe('strategyHealth', () => {
  it('counts decided bars and signals, and ages the most recent decision', () => {
    const h = strategyHealth({
      outcomes: { malformed: 1, already_seen: 4, no_signal: 10, stale: 2, signal: 3 },
      decisions: { SPY: decision(5_000), AAPL: decision(61_000) },
      brokerClockKnown: true,
    });
    expect(h).toEqual({
      status: 'ok',
      figures: {
        barsDecided: 15,
        signalsPublished: 3,
        signalsSuppressed: 2,
        barsMalformed: 1,
        symbolsDecided: 2,
        lastDecisionAgeMs: 5_000,
      },
      notes: [],
    });
  });

  it('has no decision age before the first decision', () => {
    const h = strategyHealth({ outcomes: none, decisions: {}, brokerClockKnown: true });
    expect(h.figures).toMatchObject({ barsDecided: 0, symbolsDecided: 0, lastDecisionAgeMs: null });
  });

  it('is degraded, saying why, without a broker clock', () => {
    const h = strategyHealth({ outcomes: none, decisions: {}, brokerClockKnown: false });
    expect(h.status).toBe('degraded');
    expect(h.notes).toEqual(['no broker clock yet: bars cannot be judged fresh, no signal goes out']);
  });
});
