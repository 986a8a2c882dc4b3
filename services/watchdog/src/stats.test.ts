import { describe, expect, it } from 'vitest';
import { Stats } from './stats.js';

const T0 = Date.parse('2026-11-27T15:00:00Z');

describe('Stats', () => {
  it('counts bars per minute, keeps an hour of history and the last bar age per symbol', () => {
    const s = new Stats();
    s.onBar('SPY', T0);
    s.onBar('AAPL', T0 + 1000);
    s.onBar('SPY', T0 + 60_000);
    expect(s.barsPerMinute(T0 + 60_500)).toBe(2);
    expect(s.barsPerMinute(T0 + 200_000)).toBe(0);
    const h = s.history(T0 + 61_500);
    expect(h).toHaveLength(60);
    expect(h.slice(-2)).toEqual([
      { minute: '2026-11-27T15:00:00.000Z', bars: 2 },
      { minute: '2026-11-27T15:01:00.000Z', bars: 1 },
    ]);
    expect(s.symbols(T0 + 62_000)).toEqual([
      { symbol: 'AAPL', lastBarAgeMs: 61_000 },
      { symbol: 'SPY', lastBarAgeMs: 2000 },
    ]);
    expect(s.lastBarAgeMs(T0 + 62_000)).toBe(2000);
    expect(s.history(T0 + 2 * 3_600_000).every((m) => m.bars === 0)).toBe(true);
  });

  it('measures uptime over watched time only', () => {
    const s = new Stats();
    expect(s.uptimePct()).toBe(100);
    s.onTick(0, true, false);
    s.onTick(3000, true, false);
    s.onTick(4000, true, true);
    s.onTick(100_000, false, true); // closed: not counted
    expect(s.uptimePct()).toBe(75);
  });
});
