import type { Bar } from '@vigil/contracts';
import { describe, expect, it } from 'vitest';
import { StoredBars } from './stored-bars.js';

const bar = (t: string, close = 100): Bar => ({
  v: 1,
  symbol: 'SPY',
  t,
  open: close,
  high: close,
  low: close,
  close,
  volume: 10,
  tradeCount: 2,
  vwap: close,
  revision: 0,
  source: 'live',
  feed: 'iex',
  receivedAt: t,
});
const T = '2026-12-01T15:00:00.000Z';
const t = Date.parse(T);

describe('StoredBars', () => {
  it('keeps the values of what it stored, the newest revision winning', () => {
    const s = new StoredBars();
    s.record(bar(T, 100), false);
    s.record({ ...bar(T, 101), revision: 1 }, false);
    expect(s.minutes('SPY').get(t)).toMatchObject({ close: 101 });
  });

  it('knows a duplicate minute is stored without knowing its values, and keeps values it had', () => {
    const s = new StoredBars();
    s.record(bar(T), true);
    expect(s.minutes('SPY').has(t)).toBe(true);
    expect(s.minutes('SPY').get(t)).toBeNull();
    s.record(bar('2026-12-01T15:01:00.000Z', 100), false);
    s.record(bar('2026-12-01T15:01:00.000Z', 105), true);
    expect(s.minutes('SPY').get(t + 60_000)).toMatchObject({ close: 100 });
  });

  it('does not count a minute as stored from a revision alone: its revision 0 may be the hole', () => {
    const s = new StoredBars();
    s.record({ ...bar(T, 101), revision: 1 }, false);
    s.record({ ...bar(T, 102), revision: 2 }, true);
    expect(s.minutes('SPY').has(t)).toBe(false);
    s.record(bar(T, 100), true);
    s.record({ ...bar(T, 103), revision: 3 }, false);
    expect(s.minutes('SPY').get(t)).toMatchObject({ close: 103 });
  });

  it('forgets minutes before the window', () => {
    const s = new StoredBars();
    s.record(bar(T), false);
    s.record(bar('2026-12-01T15:01:00.000Z'), false);
    s.prune(t + 60_000);
    expect([...s.minutes('SPY').keys()]).toEqual([t + 60_000]);
    expect(s.minutes('QQQ').size).toBe(0);
  });
});
