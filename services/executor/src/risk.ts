import type { Side } from '@vigil/contracts';

export interface RiskLimits {
  maxPositionQty: number;
  maxOrderNotional: number;
  maxOrdersPerMinute: number;
  maxSignalAgeMs: number;
}

export interface RiskInput {
  side: Side;
  qty: number;
  price: number;
  /** Signed shares held plus the unfilled rest of open orders for the symbol. */
  exposure: number;
  /** When recent orders were sent (same clock as `nowMs`). */
  recentOrderTimes: readonly number[];
  nowMs: number;
  /** Broker time minus the end of the signal's bar; null when the broker clock is unknown. */
  signalAgeMs: number | null;
}

export type RiskRule = 'stale_signal' | 'max_order_notional' | 'max_position_qty' | 'max_orders_per_minute';
export type RiskVerdict = { ok: true } | { ok: false; rule: RiskRule; reason: string };

const MINUTE_MS = 60_000;

export function ordersInLastMinute(times: readonly number[], nowMs: number): number {
  return times.filter((t) => nowMs - t < MINUTE_MS && t <= nowMs).length;
}

/**
 * May this signal become an order? Checked in order: freshness, notional, position, rate. A position limit
 * never blocks an order that brings the position closer to flat.
 */
export function checkRisk(input: RiskInput, limits: RiskLimits): RiskVerdict {
  if (input.signalAgeMs === null) return { ok: false, rule: 'stale_signal', reason: 'broker clock unknown; cannot tell whether the signal is fresh' };
  if (input.signalAgeMs > limits.maxSignalAgeMs) {
    return { ok: false, rule: 'stale_signal', reason: `signal bar ended ${input.signalAgeMs} ms ago, over MAX_SIGNAL_AGE_MS ${limits.maxSignalAgeMs}` };
  }
  const notional = input.qty * input.price;
  if (notional > limits.maxOrderNotional) {
    return { ok: false, rule: 'max_order_notional', reason: `order notional ${notional.toFixed(2)} over MAX_ORDER_NOTIONAL ${limits.maxOrderNotional}` };
  }
  const after = input.exposure + (input.side === 'buy' ? input.qty : -input.qty);
  if (Math.abs(after) > limits.maxPositionQty && Math.abs(after) > Math.abs(input.exposure)) {
    return { ok: false, rule: 'max_position_qty', reason: `position would be ${after} (now ${input.exposure}), over MAX_POSITION_QTY ${limits.maxPositionQty}` };
  }
  const recent = ordersInLastMinute(input.recentOrderTimes, input.nowMs);
  if (recent >= limits.maxOrdersPerMinute) {
    return { ok: false, rule: 'max_orders_per_minute', reason: `${recent} orders in the last minute, at MAX_ORDERS_PER_MINUTE ${limits.maxOrdersPerMinute}` };
  }
  return { ok: true };
}
