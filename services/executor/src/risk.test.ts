import { describe, expect, it } from 'vitest';
import { checkMarketHours, checkRisk, checkSymbol, ordersInLastMinute, sizeOrder, type RiskInput } from './risk.js';

const limits = { maxPositionQty: 100, maxOrderNotional: 10_000, maxOrdersPerMinute: 3, maxSignalAgeMs: 120_000 };
const flat = { held: 0, openBuy: 0, openSell: 0 };
const base: RiskInput = {
  side: 'buy',
  qty: 10,
  price: 100,
  book: flat,
  recentOrderTimes: [],
  nowMs: 1_000_000,
  signalAgeMs: 1_000,
};

describe('checkRisk', () => {
  it('passes an ordinary order', () => {
    expect(checkRisk(base, limits)).toEqual({ ok: true });
  });

  it('rejects an order over the notional limit, and allows one exactly at it', () => {
    expect(checkRisk({ ...base, qty: 101 }, limits)).toMatchObject({
      ok: false,
      rule: 'max_order_notional',
      reason: /10100.00 over MAX_ORDER_NOTIONAL 10000/,
    });
    expect(checkRisk({ ...base, qty: 100 }, limits)).toEqual({ ok: true });
  });

  it('rejects an order that would take the position past the limit on either side', () => {
    expect(checkRisk({ ...base, book: { ...flat, held: 95 } }, limits)).toMatchObject({
      ok: false,
      rule: 'max_position_qty',
      reason: 'long position could reach 105 (held 95, open buys 0, this buy 10), over MAX_POSITION_QTY 100',
    });
    expect(checkRisk({ ...base, side: 'sell', book: { ...flat, held: -95 } }, limits)).toMatchObject({
      ok: false,
      rule: 'max_position_qty',
      reason: /short position could reach -105/,
    });
    expect(checkRisk({ ...base, book: { ...flat, held: 90 } }, limits)).toEqual({ ok: true });
    expect(checkRisk({ ...base, side: 'sell', book: { ...flat, held: -90 } }, limits)).toEqual({ ok: true });
  });

  it('checks each side at its worst: open buys cannot make room for a sell, nor open sells for a buy', () => {
    // An unfilled buy of 100 may be canceled: a sell of 200 against it could leave the account short 200.
    expect(
      checkRisk({ ...base, side: 'sell', qty: 200, price: 1, book: { ...flat, openBuy: 100 } }, limits),
    ).toMatchObject({
      ok: false,
      rule: 'max_position_qty',
      reason: 'short position could reach -200 (held 0, open sells 0, this sell 200), over MAX_POSITION_QTY 100',
    });
    expect(checkRisk({ ...base, qty: 60, book: { held: 0, openBuy: 50, openSell: 100 } }, limits)).toMatchObject({
      ok: false,
      reason: /long position could reach 110 \(held 0, open buys 50, this buy 60\)/,
    });
    expect(checkRisk({ ...base, qty: 50, book: { held: 0, openBuy: 50, openSell: 100 } }, limits)).toEqual({
      ok: true,
    });
    expect(checkRisk({ ...base, side: 'sell', qty: 40, book: { held: 20, openBuy: 0, openSell: 80 } }, limits)).toEqual(
      { ok: true },
    );
    expect(
      checkRisk({ ...base, side: 'sell', qty: 41, book: { held: 20, openBuy: 0, openSell: 80 } }, limits),
    ).toMatchObject({ ok: false, rule: 'max_position_qty' });
  });

  it('always lets an order reduce a position that is already over the limit', () => {
    expect(checkRisk({ ...base, side: 'sell', book: { ...flat, held: 150 } }, limits)).toEqual({ ok: true });
    expect(checkRisk({ ...base, side: 'buy', book: { ...flat, held: -150 } }, limits)).toEqual({ ok: true });
    expect(checkRisk({ ...base, side: 'buy', book: { ...flat, held: 150 } }, limits)).toMatchObject({
      ok: false,
      rule: 'max_position_qty',
    });
  });

  it('rejects past MAX_ORDERS_PER_MINUTE in a sliding minute', () => {
    const now = base.nowMs;
    expect(checkRisk({ ...base, recentOrderTimes: [now - 50_000, now - 10_000, now - 1] }, limits)).toMatchObject({
      ok: false,
      rule: 'max_orders_per_minute',
    });
    expect(checkRisk({ ...base, recentOrderTimes: [now - 60_000, now - 10_000, now - 1] }, limits)).toEqual({
      ok: true,
    });
  });

  it('rejects a stale signal, or any signal while the broker clock is unknown', () => {
    expect(checkRisk({ ...base, signalAgeMs: 120_001 }, limits)).toMatchObject({ ok: false, rule: 'stale_signal' });
    expect(checkRisk({ ...base, signalAgeMs: null }, limits)).toMatchObject({ ok: false, rule: 'stale_signal' });
  });
});

describe('ordersInLastMinute', () => {
  it('counts only the last 60 s', () => {
    expect(ordersInLastMinute([0, 1, 59_999, 60_000], 60_000)).toBe(3);
  });
});

describe('checkMarketHours', () => {
  const close = Date.parse('2026-11-27T18:00:00Z');
  const barEnd = Date.parse('2026-11-27T17:31:00Z');

  it('allows a bar that ended before the close while the market is open', () => {
    expect(checkMarketHours({ phase: 'open', nextCloseMs: close }, barEnd)).toEqual({ ok: true });
  });

  it('refuses while the market is closed, and while its phase is unknown', () => {
    expect(checkMarketHours({ phase: 'closed', nextCloseMs: close }, barEnd)).toMatchObject({
      ok: false,
      rule: 'market_closed',
      reason: /market closed/,
    });
    expect(checkMarketHours({ phase: 'unknown', nextCloseMs: close }, barEnd)).toMatchObject({
      ok: false,
      rule: 'market_closed',
      reason: /market phase unknown/,
    });
    expect(checkMarketHours({ phase: 'open', nextCloseMs: null }, barEnd)).toMatchObject({
      ok: false,
      rule: 'market_closed',
    });
  });

  it('refuses a bar that ended at or after the session close', () => {
    expect(checkMarketHours({ phase: 'open', nextCloseMs: close }, close)).toMatchObject({
      ok: false,
      rule: 'market_closed',
      reason: 'signal bar ended 2026-11-27T18:00:00.000Z, not before the session close 2026-11-27T18:00:00.000Z',
    });
  });
});

describe('checkSymbol', () => {
  it('allows only the configured symbols', () => {
    expect(checkSymbol('SPY', ['SPY', 'AAPL'])).toEqual({ ok: true });
    expect(checkSymbol('TSLA', ['SPY', 'AAPL'])).toEqual({
      ok: false,
      rule: 'symbol_not_traded',
      reason: 'symbol TSLA is not in SYMBOLS (SPY,AAPL); the executor trades only those',
    });
  });

  it('allows any symbol with SYMBOLS=*', () => {
    expect(checkSymbol('TSLA', ['*'])).toEqual({ ok: true });
  });
});

describe('sizeOrder', () => {
  const book = (held: number, openSell = 0, openBuy = 0) => ({ held, openBuy, openSell });

  it('long-only: refuses a sell with nothing held, or all of it already being sold', () => {
    expect(sizeOrder('sell', 10, book(0), false)).toEqual({
      ok: false,
      rule: 'long_only',
      reason: 'long-only (ALLOW_SHORT=false): no shares to sell (held 0, open sells 0)',
    });
    expect(sizeOrder('sell', 10, book(-5), false)).toMatchObject({ ok: false, rule: 'long_only' });
    expect(sizeOrder('sell', 10, book(6, 6), false)).toMatchObject({
      ok: false,
      rule: 'long_only',
      reason: /held 6, open sells 6/,
    });
    // An open buy may never fill: it is nothing to sell.
    expect(sizeOrder('sell', 10, book(0, 0, 50), false)).toMatchObject({ ok: false, rule: 'long_only' });
  });

  it('long-only: cuts a sell to the whole shares held and not already being sold', () => {
    expect(sizeOrder('sell', 10, book(6), false)).toEqual({ ok: true, qty: 6 });
    expect(sizeOrder('sell', 10, book(6, 2), false)).toEqual({ ok: true, qty: 4 });
    expect(sizeOrder('sell', 3, book(6), false)).toEqual({ ok: true, qty: 3 });
    expect(sizeOrder('sell', 10, book(5.5), false)).toEqual({ ok: true, qty: 5 });
  });

  it('leaves buys, and every order when shorts are allowed, as they are', () => {
    expect(sizeOrder('buy', 10, book(0), false)).toEqual({ ok: true, qty: 10 });
    expect(sizeOrder('sell', 10, book(0), true)).toEqual({ ok: true, qty: 10 });
  });
});
