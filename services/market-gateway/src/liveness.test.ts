import { describe, expect, it } from 'vitest';
import { isDataStale, isStable, missingFromSubscription } from './liveness.js';

describe('data staleness', () => {
  const base = { now: 100_000, streamingSince: 0, staleAfterMs: 30_000 };

  it('is stale when the market is open and nothing arrived for too long', () => {
    expect(isDataStale({ ...base, phase: 'open', lastDataAt: 60_000 })).toEqual({ stale: true, silentMs: 40_000 });
    expect(isDataStale({ ...base, phase: 'open', lastDataAt: 75_000 }).stale).toBe(false);
  });

  it('never alarms while the market is closed or its phase unknown', () => {
    expect(isDataStale({ ...base, phase: 'closed', lastDataAt: 0 }).stale).toBe(false);
    expect(isDataStale({ ...base, phase: 'unknown', lastDataAt: 0 }).stale).toBe(false);
  });

  it('counts from the subscription when no data has come yet', () => {
    expect(isDataStale({ ...base, streamingSince: 80_000, phase: 'open', lastDataAt: null }).stale).toBe(false);
    expect(isDataStale({ ...base, streamingSince: 60_000, phase: 'open', lastDataAt: 10 }).stale).toBe(true);
  });
});

describe('stable connection', () => {
  it('needs data after the subscription and enough time', () => {
    expect(isStable({ now: 70_000, streamingSince: 0, lastDataAt: 69_000, stableAfterMs: 60_000 })).toBe(true);
    expect(isStable({ now: 70_000, streamingSince: 0, lastDataAt: null, stableAfterMs: 60_000 })).toBe(false);
    expect(isStable({ now: 50_000, streamingSince: 0, lastDataAt: 49_000, stableAfterMs: 60_000 })).toBe(false);
  });
});

describe('subscription coverage', () => {
  it('lists every missing symbol and the canary', () => {
    expect(missingFromSubscription({ T: 'subscription', bars: ['SPY'], trades: [] }, ['SPY', 'AAPL'], 'SPY')).toEqual([
      'bars:AAPL',
      'trades:SPY',
    ]);
    expect(
      missingFromSubscription({ T: 'subscription', bars: ['*'], trades: ['SPY'] }, ['SPY', 'AAPL'], 'SPY'),
    ).toEqual([]);
    expect(missingFromSubscription({ T: 'subscription' }, ['SPY'], 'SPY')).toEqual(['bars:SPY', 'trades:SPY']);
  });
});
