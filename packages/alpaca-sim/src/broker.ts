import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { symbolSchema } from './symbol.js';

const decimal = z
  .union([z.string(), z.number()])
  .transform(String)
  .pipe(z.string().regex(/^\d+(\.\d+)?$/, { error: 'expected a positive decimal' }));

/** The subset of `POST /v2/orders` the simulator fills: market and limit, day/gtc/ioc/fok. */
export const orderRequest = z.object({
  symbol: symbolSchema,
  side: z.enum(['buy', 'sell']),
  type: z.enum(['market', 'limit']),
  time_in_force: z.enum(['day', 'gtc', 'ioc', 'fok', 'opg', 'cls']),
  qty: decimal.optional(),
  notional: decimal.optional(),
  limit_price: decimal.optional(),
  client_order_id: z.string().min(1).max(48).optional(),
  extended_hours: z.boolean().optional(),
  order_class: z.enum(['simple', '']).optional(),
});
export type OrderRequest = z.infer<typeof orderRequest>;

export type OrderStatus = 'accepted' | 'new' | 'filled' | 'canceled' | 'expired' | 'rejected';
const OPEN: ReadonlySet<OrderStatus> = new Set(['accepted', 'new']);

export interface Order {
  id: string;
  client_order_id: string;
  created_at: string;
  updated_at: string;
  submitted_at: string;
  filled_at: string | null;
  expired_at: string | null;
  canceled_at: string | null;
  failed_at: string | null;
  replaced_at: null;
  replaced_by: null;
  replaces: null;
  asset_id: string;
  symbol: string;
  asset_class: 'us_equity';
  notional: string | null;
  qty: string | null;
  filled_qty: string;
  filled_avg_price: string | null;
  order_class: 'simple';
  order_type: string;
  type: string;
  side: 'buy' | 'sell';
  position_intent: string;
  time_in_force: string;
  limit_price: string | null;
  stop_price: null;
  status: OrderStatus;
  extended_hours: boolean;
  legs: null;
  trail_percent: null;
  trail_price: null;
  hwm: null;
}

/** Signed: a short holds a negative `qty` and a negative `cost` (what was received for the shares sold). */
interface Holding {
  qty: number;
  cost: number;
}

export interface BrokerDeps {
  now: () => number;
  isOpen: (ms: number) => boolean;
  price: (symbol: string, ms: number) => number;
  startingCash: number;
  /** A margin account: a sell larger than the long position opens or adds to a short. Default false (cash account). */
  margin?: boolean;
}

export type BrokerResult<T> = { ok: true; value: T } | { ok: false; status: number; message: string };

const assetId = (symbol: string) =>
  `00000000-0000-4000-8000-${Buffer.from(symbol.padEnd(6, '_')).toString('hex').slice(0, 12).padEnd(12, '0')}`;
const money = (x: number) => x.toFixed(2);

/**
 * Orders, positions and cash for one paper account. Market orders fill at the simulated last price
 * while the market is open (else they wait for the open); limit orders fill once the price crosses.
 * By default no shorting: a sell larger than the position is refused, as on an account without margin.
 * With `margin`, a sell beyond the long position opens a short (reported as Alpaca does: side `short`,
 * negative `qty`); a short needs no buying power here, and buying covers it.
 */
export class Broker {
  readonly orders: Order[] = [];
  readonly positions = new Map<string, Holding>();
  cash: number;
  readonly margin: boolean;
  /** Equity at the previous close, Alpaca's `last_equity`: the simulated account opens the session flat in cash. */
  readonly lastEquity: number;

  constructor(private readonly deps: BrokerDeps) {
    this.cash = deps.startingCash;
    this.lastEquity = deps.startingCash;
    this.margin = deps.margin ?? false;
  }

  submit(req: OrderRequest): BrokerResult<Order> {
    if ((req.qty === undefined) === (req.notional === undefined))
      return fail(422, 'qty or notional is required, not both');
    if (req.type === 'limit' && req.limit_price === undefined)
      return fail(422, 'limit_price is required for limit orders');
    if (req.type === 'market' && req.limit_price !== undefined)
      return fail(422, 'limit_price is not allowed for market orders');
    if (req.client_order_id && this.orders.some((o) => o.client_order_id === req.client_order_id))
      return fail(422, 'client_order_id must be unique');
    const now = this.deps.now();
    const price = this.deps.price(req.symbol, now);
    const qty = req.qty !== undefined ? Number(req.qty) : Number(req.notional) / price;
    if (!(qty > 0)) return fail(422, 'qty must be > 0');
    const reserved = this.pendingQty(req.symbol, 'sell');
    const held = this.positions.get(req.symbol)?.qty ?? 0;
    if (req.side === 'sell' && !this.margin && qty > held - reserved + 1e-9)
      return fail(403, `insufficient qty available for order (requested: ${qty}, available: ${held - reserved})`);
    const cost = qty * (req.limit_price !== undefined ? Number(req.limit_price) : price);
    if (req.side === 'buy' && cost > this.buyingPower() + 1e-6) return fail(403, 'insufficient buying power');
    const ts = new Date(now).toISOString();
    const order: Order = {
      id: randomUUID(),
      client_order_id: req.client_order_id ?? randomUUID(),
      created_at: ts,
      updated_at: ts,
      submitted_at: ts,
      filled_at: null,
      expired_at: null,
      canceled_at: null,
      failed_at: null,
      replaced_at: null,
      replaced_by: null,
      replaces: null,
      asset_id: assetId(req.symbol),
      symbol: req.symbol,
      asset_class: 'us_equity',
      notional: req.notional ?? null,
      qty: req.qty ?? null,
      filled_qty: '0',
      filled_avg_price: null,
      order_class: 'simple',
      order_type: req.type,
      type: req.type,
      side: req.side,
      position_intent:
        req.side === 'buy' ? (held < 0 ? 'buy_to_close' : 'buy_to_open') : held > 0 ? 'sell_to_close' : 'sell_to_open',
      time_in_force: req.time_in_force,
      limit_price: req.limit_price ?? null,
      stop_price: null,
      status: this.deps.isOpen(now) ? 'new' : 'accepted',
      extended_hours: req.extended_hours ?? false,
      legs: null,
      trail_percent: null,
      trail_price: null,
      hwm: null,
    };
    this.orders.push(order);
    const snapshot = { ...order };
    this.tryFill(order, now);
    return { ok: true, value: snapshot };
  }

  /** Fill whatever can fill now (called every simulated slot). */
  tick(): void {
    const now = this.deps.now();
    for (const o of this.orders) if (OPEN.has(o.status)) this.tryFill(o, now);
  }

  list(filter: {
    status: 'open' | 'closed' | 'all';
    limit: number;
    direction: 'asc' | 'desc';
    symbols?: string[];
    side?: string;
  }): Order[] {
    const picked = this.orders.filter(
      (o) =>
        (filter.status === 'all' || (filter.status === 'open') === OPEN.has(o.status)) &&
        (!filter.symbols || filter.symbols.includes(o.symbol)) &&
        (!filter.side || o.side === filter.side),
    );
    const sorted = filter.direction === 'asc' ? picked : [...picked].reverse();
    return sorted.slice(0, filter.limit);
  }

  get(id: string): Order | undefined {
    return this.orders.find((o) => o.id === id);
  }

  byClientOrderId(id: string): Order | undefined {
    return this.orders.find((o) => o.client_order_id === id);
  }

  cancel(id: string): BrokerResult<Order> {
    const o = this.get(id);
    if (!o) return fail(404, 'order not found');
    if (!OPEN.has(o.status)) return fail(422, `order is not cancelable (status ${o.status})`);
    o.status = 'canceled';
    o.canceled_at = o.updated_at = new Date(this.deps.now()).toISOString();
    return { ok: true, value: o };
  }

  cancelAll(): { id: string; status: number }[] {
    return this.orders
      .filter((o) => OPEN.has(o.status))
      .map((o) => ({ id: o.id, status: this.cancel(o.id).ok ? 200 : 500 }));
  }

  /** Liquidate one position with a market order (a buy for a short); the 207 body of `DELETE /v2/positions` is a list of these. */
  close(symbol: string): BrokerResult<Order> {
    const h = this.positions.get(symbol);
    if (!h || h.qty === 0) return fail(404, 'position does not exist');
    const side = h.qty > 0 ? 'sell' : 'buy';
    const free = Math.abs(h.qty) - this.pendingQty(symbol, side);
    if (free <= 0) return fail(403, 'insufficient qty available for order');
    return this.submit({ symbol, side, type: 'market', time_in_force: 'day', qty: String(free) });
  }

  closeAll(
    cancelOrders: boolean,
  ): { symbol: string; status: number; body: Order | { code: number; message: string } }[] {
    if (cancelOrders) this.cancelAll();
    return [...this.positions.keys()].sort().map((symbol) => {
      const r = this.close(symbol);
      return r.ok
        ? { symbol, status: 200, body: r.value }
        : { symbol, status: r.status, body: { code: r.status * 100_000, message: r.message } };
    });
  }

  /** Alpaca's Position: quantities and money as strings; a short has side `short` and negative qty, market value and cost basis. */
  positionView(symbol: string): Record<string, unknown> | undefined {
    const h = this.positions.get(symbol);
    if (!h || h.qty === 0) return undefined;
    const now = this.deps.now();
    const price = this.deps.price(symbol, now);
    const lastday = this.deps.price(symbol, now - 86_400_000);
    const mv = h.qty * price;
    const pl = mv - h.cost;
    const plpc = String(pl / Math.abs(h.cost));
    const available = h.qty > 0 ? h.qty - this.pendingQty(symbol, 'sell') : h.qty + this.pendingQty(symbol, 'buy');
    return {
      asset_id: assetId(symbol),
      symbol,
      exchange: 'NYSE',
      asset_class: 'us_equity',
      asset_marginable: true,
      avg_entry_price: String(h.cost / h.qty),
      qty: String(h.qty),
      qty_available: String(available),
      side: h.qty > 0 ? 'long' : 'short',
      market_value: money(mv),
      cost_basis: money(h.cost),
      unrealized_pl: money(pl),
      unrealized_plpc: plpc,
      unrealized_intraday_pl: money(pl),
      unrealized_intraday_plpc: plpc,
      current_price: String(price),
      lastday_price: String(lastday),
      change_today: String((price - lastday) / lastday),
    };
  }

  longMarketValue(): number {
    return this.marketValue((qty) => qty > 0);
  }

  /** Negative: what buying back every short would cost now. */
  shortMarketValue(): number {
    return this.marketValue((qty) => qty < 0);
  }

  private marketValue(which: (qty: number) => boolean): number {
    const now = this.deps.now();
    let total = 0;
    for (const [symbol, h] of this.positions) if (which(h.qty)) total += h.qty * this.deps.price(symbol, now);
    return total;
  }

  buyingPower(): number {
    const now = this.deps.now();
    const pendingBuys = this.orders
      .filter((o) => OPEN.has(o.status) && o.side === 'buy')
      .reduce(
        (a, o) =>
          a + Number(o.qty ?? 0) * (o.limit_price !== null ? Number(o.limit_price) : this.deps.price(o.symbol, now)),
        0,
      );
    return this.cash - pendingBuys;
  }

  private pendingQty(symbol: string, side: 'buy' | 'sell'): number {
    return this.orders
      .filter((o) => OPEN.has(o.status) && o.symbol === symbol && o.side === side)
      .reduce((a, o) => a + Number(o.qty ?? 0), 0);
  }

  private tryFill(o: Order, now: number): void {
    if (!this.deps.isOpen(now)) return;
    const price = this.deps.price(o.symbol, now);
    const limit = o.limit_price !== null ? Number(o.limit_price) : null;
    const crosses = limit === null || (o.side === 'buy' ? price <= limit : price >= limit);
    if (!crosses) {
      if (o.time_in_force === 'ioc' || o.time_in_force === 'fok') this.finish(o, 'canceled', now);
      return;
    }
    const qty = o.qty !== null ? Number(o.qty) : Number(o.notional) / price;
    const h = this.positions.get(o.symbol) ?? { qty: 0, cost: 0 };
    const signed = o.side === 'buy' ? qty : -qty;
    // First reduce the position held on the other side (at its average cost), then open with what is left.
    const reducing = h.qty !== 0 && Math.sign(h.qty) !== Math.sign(signed) ? Math.min(qty, Math.abs(h.qty)) : 0;
    if (reducing > 0) {
      const part = Math.sign(h.qty) * reducing;
      h.cost -= (h.cost / h.qty) * part;
      h.qty -= part;
    }
    const opening = Math.sign(signed) * (qty - reducing);
    h.qty += opening;
    h.cost += opening * price;
    this.cash -= signed * price;
    if (Math.abs(h.qty) > 1e-9) this.positions.set(o.symbol, h);
    else this.positions.delete(o.symbol);
    o.filled_qty = String(qty);
    o.filled_avg_price = String(price);
    o.filled_at = new Date(now).toISOString();
    this.finish(o, 'filled', now);
  }

  private finish(o: Order, status: OrderStatus, now: number): void {
    o.status = status;
    o.updated_at = new Date(now).toISOString();
    if (status === 'canceled') o.canceled_at = o.updated_at;
  }
}

function fail(status: number, message: string): { ok: false; status: number; message: string } {
  return { ok: false, status, message };
}
