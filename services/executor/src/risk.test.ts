import { describe, expect, it } from 'vitest';
import { checkRisk, ordersInLastMinute, type RiskInput } from './risk.js';

const limits = { maxPositionQty: 100, maxOrderNotional: 10_000, maxOrdersPerMinute: 3, maxSignalAgeMs: 120_000 };
const base: RiskInput = { side: 'buy', qty: 10, price: 100, exposure: 0, recentOrderTimes: [], nowMs: 1_000_000, signalAgeMs: 1_000 };

describe('checkRisk', () => {
  it('passes an ordinary order', () => {
    expect(checkRisk(base, limits)).toEqual({ ok: true });
  });

  it('rejects an order over the notional limit, and allows one exactly at it', () => {
    expect(checkRisk({ ...base, qty: 101 }, limits)).toMatchObject({ ok: false, rule: 'max_order_notional', reason: /10100.00 over MAX_ORDER_NOTIONAL 10000/ });
    expect(checkRisk({ ...base, qty: 100 }, limits)).toEqual({ ok: true });
  });

  it('rejects an order that would take the position past the limit on either side', () => {
    expect(checkRisk({ ...base, exposure: 95 }, limits)).toMatchObject({ ok: false, rule: 'max_position_qty', reason: /position would be 105/ });
    expect(checkRisk({ ...base, side: 'sell', exposure: -95 }, limits)).toMatchObject({ ok: false, rule: 'max_position_qty' });
    expect(checkRisk({ ...base, exposure: 90 }, limits)).toEqual({ ok: true });
  });

  it('always lets an order reduce a position that is already over the limit', () => {
    expect(checkRisk({ ...base, side: 'sell', exposure: 150 }, limits)).toEqual({ ok: true });
  });

  it('rejects past MAX_ORDERS_PER_MINUTE in a sliding minute', () => {
    const now = base.nowMs;
    expect(checkRisk({ ...base, recentOrderTimes: [now - 50_000, now - 10_000, now - 1] }, limits)).toMatchObject({ ok: false, rule: 'max_orders_per_minute' });
    expect(checkRisk({ ...base, recentOrderTimes: [now - 60_000, now - 10_000, now - 1] }, limits)).toEqual({ ok: true });
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
