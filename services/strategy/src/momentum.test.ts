import { describe, expect, it } from 'vitest';
import { signalsOf } from '../test/bars.js';
import { momentum } from './momentum.js';

describe('momentum', () => {
  const s = momentum({ lookback: 3, thresholdBps: 100 });

  it('needs lookback + 1 bars before it judges', () => {
    expect(signalsOf(s, [100, 100, 100])).toEqual([]);
  });

  it('buys when the return crosses +threshold and sells when it crosses -threshold, once per regime', () => {
    // i=3: 102/100 = +200 bps → buy; i=4: still up → nothing; i=7: 98/101 ≈ -297 bps → sell.
    const closes = [100, 100, 100, 102, 103, 103, 101, 98, 97];
    expect(signalsOf(s, closes)).toEqual([
      { i: 3, side: 'buy' },
      { i: 7, side: 'sell' },
    ]);
  });

  it('fires again after the return falls back inside the band', () => {
    const closes = [100, 100, 100, 102, 102, 102, 102, 102, 102, 104];
    // i=3 up; i=6 flat (102/102); i=9 up again (104/102 ≈ +196 bps).
    expect(signalsOf(s, closes)).toEqual([
      { i: 3, side: 'buy' },
      { i: 9, side: 'buy' },
    ]);
  });

  it('ignores moves inside the threshold', () => {
    expect(signalsOf(s, [100, 100.2, 100.5, 100.9, 100.3, 100.1])).toEqual([]);
  });
});
