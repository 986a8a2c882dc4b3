import { MINUTE_MS } from '@vigil/contracts';
import { describe, expect, it } from 'vitest';
import { newBarsFor, opensGap, planBackfill, planGapChecks, unsettled } from './backfill.js';

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
  it('flags a live bar that skips minutes after the last published one, whatever REST answered before', () => {
    expect(opensGap(T('15:33'), T('15:32'))).toBe(false);
    expect(opensGap(T('15:33'), T('15:30'))).toBe(true);
    expect(opensGap(T('15:33'), T('15:33'))).toBe(false);
    // A first bar: whatever came before it is in doubt until REST is asked.
    expect(opensGap(T('15:33'), undefined)).toBe(true);
  });
});

describe('planGapChecks', () => {
  it('asks each skipping symbol from the minute after its last bar, grouped by that minute', () => {
    const last = new Map([
      ['A', T('15:29')],
      ['B', T('15:20')],
      ['C', T('15:29')],
    ]);
    const skipped = new Map([
      ['A', T('15:32')],
      ['B', T('15:32')],
      ['C', T('15:31')],
    ]);
    expect(planGapChecks(skipped, last, 60 * MINUTE_MS, 2)).toEqual([
      { symbols: ['B', 'A'], start: T('15:21') },
      { symbols: ['C'], start: T('15:30') },
    ]);
  });

  it('leaves out a symbol whose gap closed meanwhile', () => {
    const last = new Map([['A', T('15:31')]]);
    expect(planGapChecks(new Map([['A', T('15:32')]]), last, 60 * MINUTE_MS)).toEqual([]);
  });

  it('asks a symbol never published from the lookback before its live bar', () => {
    expect(planGapChecks(new Map([['NEW', T('15:32')]]), new Map(), 30 * MINUTE_MS)).toEqual([
      { symbols: ['NEW'], start: T('15:02') },
    ]);
  });
});

describe('unsettled', () => {
  const bars = (...hhmm: string[]) => hhmm.map((h) => ({ t: `2026-11-27T${h}:00Z` }));
  it("settles a symbol only when its own answer reaches the last minute in doubt, the live bar's previous", () => {
    const skipped = new Map([
      ['A', T('15:32')],
      ['B', T('15:32')],
      ['C', T('15:32')],
      ['D', T('15:32')],
      ['F', T('15:32')],
    ]);
    const answer = new Map([
      ['A', bars('15:29', '15:32')],
      ['B', bars('15:29', '15:30')],
      ['C', bars('15:33')],
      // Another symbol's later bar settles nothing for D, which has no answer of its own.
      ['E', bars('15:35')],
      ['F', bars('15:31')],
    ]);
    expect(unsettled(skipped, answer)).toEqual(['B', 'D']);
  });
});
