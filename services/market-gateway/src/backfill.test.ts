import { MINUTE_MS } from '@vigil/contracts';
import { describe, expect, it } from 'vitest';
import { newBarsFor, opensGap, planBackfill, settledThrough } from './backfill.js';

const T = (hhmm: string) => Date.parse(`2026-11-27T${hhmm}:00Z`);

describe('planBackfill', () => {
  it("starts after the oldest symbol's last bar and runs to now", () => {
    const last = new Map([
      ['SPY', T('15:28')],
      ['AAPL', T('15:20')],
    ]);
    expect(planBackfill(['SPY', 'AAPL'], last, T('15:31') + 5_000, 6 * 3_600_000)).toEqual({
      start: T('15:21'),
      end: T('15:31') + 5_000,
      requests: [{ symbols: ['AAPL', 'SPY'], start: T('15:21') }],
    });
  });

  it('reaches back the lookback for a symbol never published', () => {
    const w = planBackfill(['SPY', 'NEW'], new Map([['SPY', T('15:28')]]), T('15:31'), 30 * MINUTE_MS);
    expect(w?.start).toBe(T('15:01'));
  });

  it('never reaches further back than the lookback, even for an old last bar', () => {
    expect(planBackfill(['SPY'], new Map([['SPY', T('09:00')]]), T('15:31'), 10 * MINUTE_MS)?.start).toBe(T('15:21'));
  });

  it('asks for the minute that may just have closed, and nothing when even that is out', () => {
    expect(planBackfill(['SPY'], new Map([['SPY', T('15:30')]]), T('15:31') + 30_000, 3_600_000)?.start).toBe(
      T('15:31'),
    );
    expect(planBackfill(['SPY'], new Map([['SPY', T('15:31')]]), T('15:31') + 30_000, 3_600_000)).toBeNull();
  });

  it('groups symbols by where their gap starts, a bounded number a request, those up to date last', () => {
    const last = new Map([
      ['A', T('15:29')],
      ['B', T('15:00')],
      ['C', T('15:29')],
      ['D', T('15:29')],
      ['E', T('15:31')],
    ]);
    const plan = planBackfill(['A', 'B', 'C', 'D', 'E', 'F'], last, T('15:31') + 5_000, 60 * MINUTE_MS, 2);
    expect(plan?.requests).toEqual([
      { symbols: ['F', 'B'], start: T('14:31') },
      { symbols: ['A', 'C'], start: T('15:30') },
      { symbols: ['D', 'E'], start: T('15:30') },
    ]);
    expect(plan?.start).toBe(T('14:31'));
  });
});

describe('newBarsFor', () => {
  it('keeps only bars after the last published one, in time order', () => {
    const bars = [{ t: '2026-11-27T15:30:00Z' }, { t: '2026-11-27T15:28:00Z' }, { t: '2026-11-27T15:29:00Z' }];
    expect(newBarsFor(bars, T('15:28')).map((b) => b.t)).toEqual(['2026-11-27T15:29:00Z', '2026-11-27T15:30:00Z']);
    expect(newBarsFor(bars, undefined)).toHaveLength(3);
  });
});

describe('opensGap', () => {
  it('flags a live bar that skips minutes REST has not settled', () => {
    expect(opensGap(T('15:33'), T('15:32'), Number.NEGATIVE_INFINITY)).toBe(false);
    expect(opensGap(T('15:33'), T('15:30'), Number.NEGATIVE_INFINITY)).toBe(true);
    expect(opensGap(T('15:33'), T('15:30'), T('15:31'))).toBe(true);
    expect(opensGap(T('15:33'), T('15:30'), T('15:32'))).toBe(false);
    expect(opensGap(T('15:33'), undefined, Number.NEGATIVE_INFINITY)).toBe(false);
  });
});

describe('settledThrough', () => {
  const bars = (...hhmm: string[]) => hhmm.map((h) => ({ t: `2026-11-27T${h}:00Z` }));
  it('settles the minutes before the request when the answer holds the last of them', () => {
    expect(settledThrough([bars('15:29', '15:30'), bars('15:30')], T('15:31') + 5_000)).toBe(T('15:30'));
  });
  it('settles no further than the newest bar served, when the clock estimate ran ahead of the server', () => {
    expect(settledThrough([bars('15:28', '15:29'), bars('15:29')], T('15:31') + 500)).toBe(T('15:29'));
  });
  it('settles nothing on an empty answer', () => {
    expect(settledThrough([[], []], T('15:31'))).toBe(Number.NEGATIVE_INFINITY);
  });
});
