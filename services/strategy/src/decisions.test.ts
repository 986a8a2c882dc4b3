import { describe, expect, it } from 'vitest';
import { DecisionLog } from './decisions.js';

describe('DecisionLog', () => {
  it('keeps the last decision per symbol and reports its age at the heartbeat', () => {
    const log = new DecisionLog();
    const t = Date.parse('2026-11-27T15:32:00Z');
    log.record('SPY', { barT: '2026-11-27T15:30:00Z', barSource: 'live', outcome: 'buy', decidedAt: t });
    log.record('SPY', { barT: '2026-11-27T15:31:00Z', barSource: 'poll', outcome: 'none', decidedAt: t + 1_000 });
    log.record('BRK.B', { barT: '2026-11-27T15:31:00Z', barSource: 'backfill', outcome: 'sell', decidedAt: t + 500 });
    expect(log.snapshot(t + 3_000)).toEqual({
      SPY: {
        barT: '2026-11-27T15:31:00Z',
        barSource: 'poll',
        outcome: 'none',
        decidedAt: '2026-11-27T15:32:01.000Z',
        ageMs: 2_000,
      },
      'BRK.B': {
        barT: '2026-11-27T15:31:00Z',
        barSource: 'backfill',
        outcome: 'sell',
        decidedAt: '2026-11-27T15:32:00.500Z',
        ageMs: 2_500,
      },
    });
  });

  it('never reports a negative age when the clock steps back', () => {
    const log = new DecisionLog();
    log.record('SPY', { barT: '2026-11-27T15:30:00Z', barSource: 'live', outcome: 'none', decidedAt: 10_000 });
    expect(log.snapshot(9_000).SPY?.ageMs).toBe(0);
  });
});
