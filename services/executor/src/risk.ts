import { MINUTE_MS, type Side } from '@vigil/contracts';
import { isAllSymbols, type MarketPhase } from '@vigil/service-kit';
import type { Book } from './exposure.js';

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
  /** The symbol's book by side: shares held (signed), and the unfilled rest of open buys and of open sells. */
  book: Book;
  /** When recent orders were sent (same clock as `nowMs`). */
  recentOrderTimes: readonly number[];
  nowMs: number;
  /** Broker time minus the end of the signal's bar; null when the broker clock is unknown. */
  signalAgeMs: number | null;
}

export type RiskRule =
  | 'symbol_not_traded'
  | 'market_closed'
  | 'long_only'
  | 'stale_signal'
  | 'max_order_notional'
  | 'max_position_qty'
  | 'max_orders_per_minute';
export type RiskVerdict = { ok: true } | { ok: false; rule: RiskRule; reason: string };

/** What the broker's clock says (MarketClock): the phase now, and `next_close` of its last reading. */
export interface MarketView {
  phase: MarketPhase;
  nextCloseMs: number | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Only the configured symbols (SYMBOLS, the gateway's list, or `*`) are traded: a signal for another is refused. */
export function checkSymbol(symbol: string, symbols: readonly string[]): RiskVerdict {
  if (isAllSymbols(symbols) || symbols.includes(symbol)) return { ok: true };
  return {
    ok: false,
    rule: 'symbol_not_traded',
    reason: `symbol ${symbol} is not in SYMBOLS (${symbols.join(',')}); the executor trades only those`,
  };
}

/** The quantity to send, or why nothing may be sent. */
export type SizedOrder = { ok: true; qty: number } | Extract<RiskVerdict, { ok: false }>;

/**
 * Long-only unless ALLOW_SHORT: a sell goes out only against shares held and not already being sold (held −
 * open sells, whole shares), and never for more: a larger sell is cut to what is held, so the exit the signal
 * asks for happens without going short; with nothing held it is refused. Open buys do not count, they may
 * never fill. Buys, and every order with `allowShort`, keep their quantity (MAX_POSITION_QTY still applies).
 */
export function sizeOrder(side: Side, qty: number, book: Book, allowShort: boolean): SizedOrder {
  if (side === 'buy' || allowShort) return { ok: true, qty };
  const sellable = Math.floor(book.held - book.openSell + 1e-9);
  if (sellable <= 0) {
    return {
      ok: false,
      rule: 'long_only',
      reason: `long-only (ALLOW_SHORT=false): no shares to sell (held ${book.held}, open sells ${book.openSell})`,
    };
  }
  return { ok: true, qty: Math.min(qty, sellable) };
}

/**
 * Regular hours only: an order goes out only while the broker's clock says the market is open, for a signal
 * whose bar ended before the session's close (`next_close`). `unknown` (the clock unread for a while) refuses
 * like `closed`: an order sent into a closed market would wait at the broker and fill at the next open, on a
 * signal from another session. Extended hours are not supported (EXTENDED_HOURS, config.ts).
 */
export function checkMarketHours(market: MarketView, barEndMs: number): RiskVerdict {
  if (market.phase === 'unknown' || market.nextCloseMs === null) {
    return {
      ok: false,
      rule: 'market_closed',
      reason: 'market phase unknown (broker clock not read recently); orders go out only while the market is open',
    };
  }
  if (market.phase === 'closed')
    return {
      ok: false,
      rule: 'market_closed',
      reason: 'market closed (broker clock); orders go out only in regular hours',
    };
  if (barEndMs >= market.nextCloseMs) {
    return {
      ok: false,
      rule: 'market_closed',
      reason: `signal bar ended ${iso(barEndMs)}, not before the session close ${iso(market.nextCloseMs)}`,
    };
  }
  return { ok: true };
}

export function ordersInLastMinute(times: readonly number[], nowMs: number): number {
  return times.filter((t) => nowMs - t < MINUTE_MS && t <= nowMs).length;
}

/**
 * May this signal become an order? Checked in order: freshness, notional, position, rate.
 *
 * Position, per side: if every open buy and this one filled, the position would be held + open buys (+ qty);
 * if every open sell and this one filled, held − open sells (− qty). Each must stay within MAX_POSITION_QTY.
 * Buys and sells do not net: an open buy may be canceled, so it cannot make room for a sell. A buy only
 * moves the long side and a sell the short side, so an order that brings the position closer to flat is
 * never blocked (a buy against a short, a sell against a long over the limit).
 */
export function checkRisk(input: RiskInput, limits: RiskLimits): RiskVerdict {
  if (input.signalAgeMs === null)
    return { ok: false, rule: 'stale_signal', reason: 'broker clock unknown; cannot tell whether the signal is fresh' };
  if (input.signalAgeMs > limits.maxSignalAgeMs) {
    return {
      ok: false,
      rule: 'stale_signal',
      reason: `signal bar ended ${input.signalAgeMs} ms ago, over MAX_SIGNAL_AGE_MS ${limits.maxSignalAgeMs}`,
    };
  }
  const notional = input.qty * input.price;
  if (notional > limits.maxOrderNotional) {
    return {
      ok: false,
      rule: 'max_order_notional',
      reason: `order notional ${notional.toFixed(2)} over MAX_ORDER_NOTIONAL ${limits.maxOrderNotional}`,
    };
  }
  const { held, openBuy, openSell } = input.book;
  if (input.side === 'buy' && held + openBuy + input.qty > limits.maxPositionQty) {
    const worst = held + openBuy + input.qty;
    return {
      ok: false,
      rule: 'max_position_qty',
      reason: `long position could reach ${worst} (held ${held}, open buys ${openBuy}, this buy ${input.qty}), over MAX_POSITION_QTY ${limits.maxPositionQty}`,
    };
  }
  if (input.side === 'sell' && held - openSell - input.qty < -limits.maxPositionQty) {
    const worst = held - openSell - input.qty;
    return {
      ok: false,
      rule: 'max_position_qty',
      reason: `short position could reach ${worst} (held ${held}, open sells ${openSell}, this sell ${input.qty}), over MAX_POSITION_QTY ${limits.maxPositionQty}`,
    };
  }
  const recent = ordersInLastMinute(input.recentOrderTimes, input.nowMs);
  if (recent >= limits.maxOrdersPerMinute) {
    return {
      ok: false,
      rule: 'max_orders_per_minute',
      reason: `${recent} orders in the last minute, at MAX_ORDERS_PER_MINUTE ${limits.maxOrdersPerMinute}`,
    };
  }
  return { ok: true };
}
