import { describe, expect, it } from 'vitest';
import { bar, signalsOf } from '../test/bars.js';
import { maCross } from './ma-cross.js';

describe('maCross', () => {
  const s = maCross({ fast: 2, slow: 4 });

  it('fires nothing until the slow average has its bars, nor on the first full bar', () => {
    expect(signalsOf(s, [10, 11, 12, 13])).toEqual([]);
  });

  it('buys on an upward cross and sells on a downward cross, once each', () => {
    // Falling, then rising through the slow average, then falling again.
    const closes = [13, 12, 11, 10, 9, 12, 14, 15, 16, 12, 9, 8, 7];
    expect(signalsOf(s, closes)).toEqual([
      // i=5 the averages touch (spread 0); i=6 fast is above → buy. i=9 fast dips below → sell.
      { i: 6, side: 'buy' },
      { i: 9, side: 'sell' },
    ]);
  });

  it('does not fire again while the trend persists', () => {
    expect(signalsOf(s, [10, 10, 10, 10, 11, 12, 13, 14, 15, 16])).toEqual([{ i: 4, side: 'buy' }]);
  });

  it('carries the averages as inputs and keeps only the slow window in its state', () => {
    let state = s.initial();
    let last: ReturnType<typeof s.step> | undefined;
    for (const [i, c] of [10, 10, 10, 10, 14].entries()) {
      last = s.step(bar(i, c), state);
      state = last.state;
    }
    expect(last!.signal?.inputs).toMatchObject({ close: 14, fastMa: 12, slowMa: 11, spread: 1, prevSpread: 0 });
    expect(state.closes).toEqual([10, 10, 10, 14]);
    expect(s.stateSchema.parse(JSON.parse(JSON.stringify(state)))).toEqual(state);
  });

  it('refuses parameters that cannot cross', () => {
    expect(() => maCross({ fast: 5, slow: 5 })).toThrow(/fast < slow/);
  });
});
