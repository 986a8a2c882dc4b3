import { describe, expect, it } from 'vitest';
import {
  barForMinute,
  historicalBars,
  quoteFor,
  tradesInMinute,
  updatedBarForMinute,
  type MarketModel,
} from './bars.js';
import { sessionOn } from './calendar.js';

const model: MarketModel = { seed: 7, sparse: new Set(['THIN']), updatedBarRate: 0.05 };
const open = sessionOn('2026-01-06')!.openMs;
const m0 = open / 60_000;

describe('bars', () => {
  it('is a pure function of seed, symbol and minute', () => {
    expect(barForMinute(model, 'SPY', m0 + 3)).toEqual(barForMinute({ ...model }, 'SPY', m0 + 3));
    expect(barForMinute({ ...model, seed: 8 }, 'AAPL', m0 + 3)).not.toEqual(barForMinute(model, 'AAPL', m0 + 3));
  });

  it('trades a liquid symbol several times a minute while open, never while closed', () => {
    for (let m = m0; m < m0 + 30; m++) expect(tradesInMinute(model, 'SPY', m).length).toBeGreaterThanOrEqual(4);
    expect(tradesInMinute(model, 'SPY', m0 - 1)).toEqual([]);
    expect(barForMinute(model, 'SPY', m0 - 1)).toBeNull();
  });

  it('aggregates the bar from its trades, labelled with the minute start', () => {
    const trades = tradesInMinute(model, 'SPY', m0).map((x) => x.trade);
    const bar = barForMinute(model, 'SPY', m0)!;
    expect(bar.t).toBe('2026-01-06T14:30:00Z');
    expect(bar.o).toBe(trades[0]!.p);
    expect(bar.c).toBe(trades.at(-1)!.p);
    expect(bar.n).toBe(trades.length);
    expect(bar.h).toBeGreaterThanOrEqual(Math.max(bar.o, bar.c));
    expect(bar.vw).toBeGreaterThanOrEqual(bar.l);
    const q = quoteFor(7, trades[0]!);
    expect(q.bp).toBeLessThan(q.ap);
  });

  it('leaves gaps for sparse symbols', () => {
    const bars = Array.from({ length: 60 }, (_, i) => barForMinute(model, 'THIN', m0 + i));
    expect(bars.filter((b) => b === null).length).toBeGreaterThan(10);
    expect(bars.filter((b) => b !== null).length).toBeGreaterThan(10);
  });

  it('serves only completed minutes and publishes corrections after their half-minute mark', () => {
    const now = open + 10 * 60_000 + 5_000;
    const hist = historicalBars(model, 'SPY', open - 3_600_000, open + 3_600_000, now);
    expect(hist.length).toBe(10);
    const forced = updatedBarForMinute(model, 'SPY', m0, true)!;
    expect(forced.v).toBe(barForMinute(model, 'SPY', m0)!.v + 100);
  });
});
