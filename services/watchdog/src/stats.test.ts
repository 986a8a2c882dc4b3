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
    expect(s.stalest(T0 + 62_000, 10)).toEqual({
      count: 2,
      symbols: [
        { symbol: 'AAPL', lastBarAgeMs: 61_000 },
        { symbol: 'SPY', lastBarAgeMs: 2000 },
      ],
    });
    expect(s.lastBarAgeMs(T0 + 62_000)).toBe(2000);
    expect(s.history(T0 + 2 * 3_600_000).every((m) => m.bars === 0)).toBe(true);
  });

  it('lists only the stalest symbols of many, oldest bar first, ties by name', () => {
    const s = new Stats();
    for (let i = 0; i < 10_000; i++) s.onBar(`S${i}`, T0 + 60_000);
    s.onBar('ZZZ', T0);
    s.onBar('MMM', T0 + 1000);
    s.onBar('AAA', T0 + 1000);
    const { count, symbols } = s.stalest(T0 + 61_000, 4);
    expect(count).toBe(10_003);
    expect(symbols).toEqual([
      { symbol: 'ZZZ', lastBarAgeMs: 61_000 },
      { symbol: 'AAA', lastBarAgeMs: 60_000 },
      { symbol: 'MMM', lastBarAgeMs: 60_000 },
      { symbol: 'S0', lastBarAgeMs: 1000 },
    ]);
    expect(s.symbols(T0 + 61_000)).toHaveLength(10_003);
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
