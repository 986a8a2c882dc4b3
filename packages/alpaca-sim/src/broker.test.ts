import { describe, expect, it } from 'vitest';
import { Broker } from './broker.js';

function broker(open = true, margin = false) {
  const state = { now: 1_000, price: 100, open };
  const b = new Broker({
    now: () => state.now,
    isOpen: () => state.open,
    price: () => state.price,
    startingCash: 10_000,
    margin,
  });
  return { b, state };
}
const market = (side: 'buy' | 'sell', qty: string, extra = {}) => ({
  symbol: 'SPY',
  side,
  type: 'market' as const,
  time_in_force: 'day' as const,
  qty,
  ...extra,
});

describe('Broker', () => {
  it('fills market orders at the price and moves cash and positions', () => {
    const { b, state } = broker();
    const r = b.submit(market('buy', '10', { client_order_id: 'a' }));
    expect(r.ok && r.value.status).toBe('new');
    expect(b.get(r.ok ? r.value.id : '')).toMatchObject({
      status: 'filled',
      filled_avg_price: '100',
      filled_qty: '10',
    });
    expect(b.cash).toBe(9_000);
    state.price = 110;
    expect(b.positionView('SPY')).toMatchObject({ qty: '10', market_value: '1100.00', unrealized_pl: '100.00' });
    expect(b.submit(market('buy', '1', { client_order_id: 'a' }))).toEqual({
      ok: false,
      status: 422,
      message: 'client_order_id must be unique',
    });
    b.submit(market('sell', '10'));
    expect(b.positions.size).toBe(0);
    expect(b.cash).toBe(10_100);
  });

  it('refuses shorting and overspending', () => {
    const { b } = broker();
    expect(b.submit(market('sell', '1'))).toMatchObject({ ok: false, status: 403 });
    expect(b.submit(market('buy', '101'))).toMatchObject({
      ok: false,
      status: 403,
      message: 'insufficient buying power',
    });
  });

  it('on a margin account, opens a short with a sell beyond the position, reports it as Alpaca does, and covers it', () => {
    const { b, state } = broker(true, true);
    b.submit(market('buy', '3'));
    const sell = b.submit(market('sell', '10'));
    expect(sell).toMatchObject({ ok: true, value: { position_intent: 'sell_to_close' } });
    expect(b.positionView('SPY')).toMatchObject({
      side: 'short',
      qty: '-7',
      qty_available: '-7',
      avg_entry_price: '100',
      market_value: '-700.00',
      cost_basis: '-700.00',
    });
    expect(b.cash).toBe(10_700);
    state.price = 90;
    expect(b.positionView('SPY')).toMatchObject({
      market_value: '-630.00',
      unrealized_pl: '70.00',
      unrealized_plpc: '0.1',
    });
    expect(b.shortMarketValue()).toBe(-630);
    expect(b.submit(market('sell', '1'))).toMatchObject({ ok: true, value: { position_intent: 'sell_to_open' } });
    expect(b.positionView('SPY')).toMatchObject({ qty: '-8', avg_entry_price: String((700 + 90) / 8) });
    // Flatten covers the short with a buy.
    expect(b.closeAll(true)).toEqual([
      {
        symbol: 'SPY',
        status: 200,
        body: expect.objectContaining({ side: 'buy', qty: '8', position_intent: 'buy_to_close' }),
      },
    ]);
    expect(b.positions.size).toBe(0);
    expect(b.cash).toBe(10_700 + 90 - 8 * 90);
  });

  it('holds market orders while closed and limit orders until the price crosses', () => {
    const { b, state } = broker(false);
    const m = b.submit(market('buy', '1'));
    expect(m.ok && m.value.status).toBe('accepted');
    const l = b.submit({
      symbol: 'SPY',
      side: 'buy',
      type: 'limit',
      limit_price: '95',
      time_in_force: 'gtc',
      qty: '1',
    });
    state.open = true;
    b.tick();
    expect(b.list({ status: 'open', limit: 50, direction: 'asc' }).map((o) => o.id)).toEqual([l.ok ? l.value.id : '']);
    state.price = 94;
    b.tick();
    expect(b.list({ status: 'open', limit: 50, direction: 'asc' })).toEqual([]);
    expect(b.positionView('SPY')).toMatchObject({ qty: '2' });
  });

  it('flattens: cancels open orders, then one liquidating order per position', () => {
    const { b } = broker();
    b.submit(market('buy', '5'));
    b.submit({ symbol: 'AAPL', side: 'buy', type: 'limit', limit_price: '1', time_in_force: 'day', qty: '1' });
    const out = b.closeAll(true);
    expect(out).toEqual([
      { symbol: 'SPY', status: 200, body: expect.objectContaining({ side: 'sell', qty: '5', status: 'new' }) },
    ]);
    expect(b.positions.size).toBe(0);
    expect(b.list({ status: 'all', limit: 50, direction: 'asc' }).map((o) => o.status)).toEqual([
      'filled',
      'canceled',
      'filled',
    ]);
    expect(b.cancelAll()).toEqual([]);
  });
});
