import { describe, expect, it } from 'vitest';
import { bookOf, exposureOf, newFill, stillUnsettled, withFills, type UnsettledFill } from './exposure.js';

const positions = new Map([
  ['SPY', 40],
  ['QQQ', -5],
]);
const fill = (symbol: string, qty: number, seenAt: number): UnsettledFill => ({
  orderId: `o-${seenAt}`,
  symbol,
  qty,
  seenAt,
});

describe('exposureOf', () => {
  it('adds unsettled fills and the unfilled rest of open orders to the position, by side', () => {
    const open = [
      { symbol: 'SPY', side: 'buy' as const, qty: 30, filledQty: 10 },
      { symbol: 'SPY', side: 'sell' as const, qty: 5, filledQty: 0 },
      { symbol: 'QQQ', side: 'buy' as const, qty: 100, filledQty: 0 },
    ];
    expect(exposureOf('SPY', positions, open, [fill('SPY', 10, 1), fill('QQQ', 7, 2)])).toBe(40 + 10 + 20 - 5);
    expect(exposureOf('IWM', positions, open, [])).toBe(0);
  });

  it('keeps open buys and open sells apart in the book: one cannot offset the other', () => {
    const open = [
      { symbol: 'SPY', side: 'buy' as const, qty: 30, filledQty: 10 },
      { symbol: 'SPY', side: 'sell' as const, qty: 5, filledQty: 0 },
      { symbol: 'QQQ', side: 'buy' as const, qty: 100, filledQty: 0 },
    ];
    expect(bookOf('SPY', positions, open, [fill('SPY', 10, 1)])).toEqual({ held: 50, openBuy: 20, openSell: 5 });
    expect(bookOf('QQQ', positions, open, [])).toEqual({ held: -5, openBuy: 100, openSell: 0 });
    expect(bookOf('IWM', positions, open, [])).toEqual({ held: 0, openBuy: 0, openSell: 0 });
  });

  it('stays the same when a fill moves from an open order to the unsettled fills', () => {
    const before = exposureOf('SPY', positions, [{ symbol: 'SPY', side: 'buy', qty: 60, filledQty: 0 }], []);
    const order = { id: 'o-1', symbol: 'SPY', side: 'buy' as const };
    const partial = newFill(order, 0, 25, 1)!;
    expect(exposureOf('SPY', positions, [{ symbol: 'SPY', side: 'buy', qty: 60, filledQty: 25 }], [partial])).toBe(
      before,
    );
    expect(exposureOf('SPY', positions, [], [partial, newFill(order, 25, 60, 2)!])).toBe(before);
  });
});

describe('newFill', () => {
  it('is the growth of the filled quantity, signed by side, and null without growth', () => {
    expect(newFill({ id: 'o-1', symbol: 'SPY', side: 'buy' }, 10, 25, 7)).toEqual({
      orderId: 'o-1',
      symbol: 'SPY',
      qty: 15,
      seenAt: 7,
    });
    expect(newFill({ id: 'o-2', symbol: 'SPY', side: 'sell' }, 0, 4, 8)).toMatchObject({ qty: -4 });
    expect(newFill({ id: 'o-1', symbol: 'SPY', side: 'buy' }, 25, 25, 9)).toBeNull();
  });
});

describe('stillUnsettled', () => {
  it('keeps only the fills seen after the read was sent', () => {
    const fills = [fill('SPY', 10, 1), fill('SPY', 5, 3), fill('QQQ', -2, 4)];
    expect(stillUnsettled(fills, 2).map((f) => f.seenAt)).toEqual([3, 4]);
    expect(stillUnsettled(fills, 5)).toEqual([]);
  });
});

describe('withFills', () => {
  it('is what a read should show: positions plus the fills, per symbol', () => {
    expect(withFills(positions, [fill('SPY', 10, 1), fill('QQQ', 5, 2), fill('IWM', 3, 3)])).toEqual(
      new Map([
        ['SPY', 50],
        ['QQQ', 0],
        ['IWM', 3],
      ]),
    );
  });
});
