import type { trading } from '@alpacahq/alpaca-trade-api';
import type { Side } from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';
import type { BrokerCall } from './broker-call.js';
import type { PublishOrderEvent } from './order-events.js';
import { isTerminal, orderChange } from './order-status.js';

export interface TrackedOrder {
  id: string;
  clientOrderId: string;
  symbol: string;
  side: Side;
  qty: number;
  status: string;
  filledQty: number;
  signalId: string | null;
}

export interface OrderTrackerDeps {
  orders: Pick<trading.OrdersApi, 'getOrderByOrderID' | 'getAllOrders'>;
  positions: Pick<trading.PositionsApi, 'getAllOpenPositions'>;
  call: BrokerCall;
  publish: PublishOrderEvent;
  logger: Logger;
  metrics: Metrics;
}

const num = (s: string | null | undefined): number => (s == null || s === '' ? 0 : Number(s));

/**
 * What the executor knows of the broker's book: positions and its open orders. Fills are tracked by polling
 * each open order; positions are re-read from the broker after every fill and on every reconcile, so the
 * broker stays the one source of truth. Every order state change becomes an order event.
 */
export class OrderTracker {
  readonly positions = new Map<string, number>();
  private readonly open = new Map<string, TrackedOrder>();
  private readonly seenClientIds = new Set<string>();
  private readonly log: Logger;
  private readonly drift;
  private readonly openGauge;
  private timers: NodeJS.Timeout[] = [];
  private reconciled = false;
  private busy: Promise<void> | null = null;

  constructor(private readonly deps: OrderTrackerDeps) {
    this.log = deps.logger.child({ component: 'order-tracker' });
    this.drift = deps.metrics.counter('position_drift_total', 'Positions found different at the broker on reconcile', ['symbol']);
    this.openGauge = deps.metrics.gauge('open_orders', 'Orders being tracked until they are final');
  }

  /** Has this process seen an order with this client_order_id (open or finished)? */
  knows(clientOrderId: string): boolean {
    return this.seenClientIds.has(clientOrderId);
  }

  /** Signed shares held plus the unfilled rest of open orders. */
  exposure(symbol: string): number {
    let total = this.positions.get(symbol) ?? 0;
    for (const o of this.open.values()) if (o.symbol === symbol) total += (o.side === 'buy' ? 1 : -1) * (o.qty - o.filledQty);
    return total;
  }

  openOrders(): TrackedOrder[] {
    return [...this.open.values()];
  }

  /** Start following an order; `announce` publishes its first event (e.g. `submitted` for one we placed). */
  async track(order: trading.Order, opts: { signalId: string | null; announce: boolean }): Promise<TrackedOrder> {
    const t: TrackedOrder = {
      id: order.id ?? '',
      clientOrderId: order.clientOrderId ?? '',
      symbol: order.symbol ?? '',
      side: order.side === 'sell' ? 'sell' : 'buy',
      qty: num(order.qty),
      status: order.status ?? 'new',
      filledQty: num(order.filledQty),
      signalId: opts.signalId,
    };
    this.seenClientIds.add(t.clientOrderId);
    if (opts.announce) {
      const avg = num(order.filledAvgPrice) || null;
      await this.publish('submitted', t, avg);
      const kind = orderChange(null, { status: t.status, filledQty: t.filledQty });
      if (kind) await this.publish(kind, t, avg);
    }
    if (!isTerminal(t.status)) this.open.set(t.id, t);
    if (t.filledQty > 0) await this.refreshPositions();
    this.setGauge();
    return t;
  }

  /**
   * Read the open orders' current state and announce what changed: one list call for the recent orders (the
   * trading API allows 200 requests a minute), and a single-order read only for one too old to be in it.
   */
  async poll(): Promise<void> {
    if (this.open.size === 0) return;
    let filled = false;
    const recent = await this.deps.call('list recent orders', () => this.deps.orders.getAllOrders({ status: 'all', limit: 500, direction: 'desc' }));
    const byId = new Map(recent.map((o) => [o.id, o]));
    for (const t of [...this.open.values()]) {
      let order = byId.get(t.id);
      try {
        order ??= await this.deps.call('get order', () => this.deps.orders.getOrderByOrderID({ orderId: t.id }));
      } catch {
        continue; // logged and counted by the broker call; tried again on the next poll
      }
      const cur = { status: order.status ?? t.status, filledQty: num(order.filledQty) };
      const kind = orderChange({ status: t.status, filledQty: t.filledQty }, cur);
      if (cur.filledQty !== t.filledQty) filled = true;
      t.status = cur.status;
      t.filledQty = cur.filledQty;
      if (kind) await this.publish(kind, t, num(order.filledAvgPrice) || null);
      if (isTerminal(cur.status)) this.open.delete(t.id);
    }
    this.setGauge();
    if (filled) await this.refreshPositions();
  }

  /** Read positions and open orders from the broker; log and count any position that moved without a fill we saw. */
  async reconcile(): Promise<void> {
    const before = new Map(this.positions);
    await this.refreshPositions();
    for (const symbol of new Set([...before.keys(), ...this.positions.keys()])) {
      const was = before.get(symbol) ?? 0;
      const now = this.positions.get(symbol) ?? 0;
      if (was !== now && this.reconciled) {
        this.drift.inc({ symbol });
        this.log.warn({ symbol, was, now }, 'position differs from what the executor knew; taking the broker as truth');
      }
    }
    this.reconciled = true;
    const open = await this.deps.call('list open orders', () => this.deps.orders.getAllOrders({ status: 'open', limit: 500 }));
    for (const order of open) if (order.id && !this.open.has(order.id)) await this.track(order, { signalId: null, announce: false });
    this.log.info({ positions: Object.fromEntries(this.positions), openOrders: this.open.size }, 'reconciled with the broker');
  }

  async refreshPositions(): Promise<void> {
    const list = await this.deps.call('list positions', () => this.deps.positions.getAllOpenPositions());
    this.positions.clear();
    for (const p of list) {
      const qty = Math.abs(num(p.qty)) * (p.side === 'short' ? -1 : 1);
      if (qty !== 0) this.positions.set(p.symbol, qty);
    }
  }

  /** Poll open orders every `pollMs` and reconcile every `reconcileMs`, never two at once. */
  start(pollMs: number, reconcileMs: number): void {
    const serial = (what: string, fn: () => Promise<void>) => () => {
      if (this.busy) return;
      this.busy = fn()
        .catch((err: unknown) => this.log.error({ err }, `${what} failed; trying again on the next round`))
        .finally(() => (this.busy = null));
    };
    this.timers = [setInterval(serial('order poll', () => this.poll()), pollMs), setInterval(serial('reconcile', () => this.reconcile()), reconcileMs)];
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.busy;
  }

  private async publish(event: Parameters<PublishOrderEvent>[0]['event'], t: TrackedOrder, filledAvgPrice: number | null): Promise<void> {
    await this.deps.publish({
      event,
      symbol: t.symbol,
      side: t.side,
      qty: t.qty,
      signalId: t.signalId,
      clientOrderId: t.clientOrderId,
      orderId: t.id,
      filledQty: t.filledQty,
      filledAvgPrice,
    });
  }

  private setGauge(): void {
    this.openGauge.set(this.open.size);
  }
}
