import type { trading } from '@alpacahq/alpaca-trade-api';
import type { Side } from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';
import type { BrokerCall } from './broker-call.js';
import { exposureOf, newFill, stillUnsettled, withFills, type UnsettledFill } from './exposure.js';
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
 * What the executor knows of the broker's book: positions, its open orders, and fills seen that no positions
 * read includes yet. Fills are tracked by polling each open order; positions are re-read from the broker after
 * every fill and on every reconcile, so the broker stays the one source of truth. Every order state change
 * becomes an order event.
 */
export class OrderTracker {
  /** Signed positions as the broker last answered. */
  readonly positions = new Map<string, number>();
  private readonly open = new Map<string, TrackedOrder>();
  private unsettled: UnsettledFill[] = [];
  /** One sequence for fills seen and positions reads sent, to tell which fills a read includes. */
  private tick = 0;
  /** When the read behind `positions` was sent: an answer to an earlier one is older news. */
  private positionsReadSentAt = 0;
  private readonly seenClientIds = new Set<string>();
  private readonly log: Logger;
  private readonly drift;
  private readonly openGauge;
  private readonly unsettledGauge;
  private readonly staleReads;
  private timers: NodeJS.Timeout[] = [];
  private reconciled = false;
  private busy: Promise<void> | null = null;

  constructor(private readonly deps: OrderTrackerDeps) {
    this.log = deps.logger.child({ component: 'order-tracker' });
    this.drift = deps.metrics.counter('position_drift_total', 'Positions found different at the broker on reconcile', ['symbol']);
    this.openGauge = deps.metrics.gauge('open_orders', 'Orders being tracked until they are final');
    this.unsettledGauge = deps.metrics.gauge('unsettled_fills', 'Fills seen that no positions read includes yet; counted in exposure on top of positions');
    this.staleReads = deps.metrics.counter('position_reads_dropped_total', 'Positions reads answered after a read sent later was applied, so dropped');
  }

  /** Has this process seen an order with this client_order_id (open or finished)? */
  knows(clientOrderId: string): boolean {
    return this.seenClientIds.has(clientOrderId);
  }

  /** Signed shares held, plus fills the last positions read may have missed, plus the unfilled rest of open orders. */
  exposure(symbol: string): number {
    return exposureOf(symbol, this.positions, this.open.values(), this.unsettled);
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
    // Counted before anything is awaited, so no risk check can run while the order or its fill is in neither.
    if (!isTerminal(t.status)) this.open.set(t.id, t);
    this.sawFill(t, 0);
    this.setGauge();
    if (opts.announce) {
      const avg = num(order.filledAvgPrice) || null;
      await this.publish('submitted', t, avg);
      const kind = orderChange(null, { status: t.status, filledQty: t.filledQty });
      if (kind) await this.publish(kind, t, avg);
    }
    if (t.filledQty > 0) await this.readPositions();
    return t;
  }

  /**
   * Read the open orders' current state and announce what changed: one list call for the recent orders (the
   * trading API allows 200 requests a minute), and a single-order read only for one too old to be in it. Then
   * re-read positions while any fill seen is not in them (also after a failed read, until one succeeds).
   */
  async poll(): Promise<void> {
    if (this.open.size > 0) await this.pollOrders();
    if (this.unsettled.length > 0) await this.readPositions();
  }

  private async pollOrders(): Promise<void> {
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
      // In one step: what leaves the order's unfilled rest becomes an unsettled fill.
      const prevFilledQty = t.filledQty;
      t.status = cur.status;
      t.filledQty = cur.filledQty;
      this.sawFill(t, prevFilledQty);
      if (isTerminal(cur.status)) this.open.delete(t.id);
      this.setGauge();
      if (kind) await this.publish(kind, t, num(order.filledAvgPrice) || null);
    }
  }

  /** Read open orders and positions from the broker; log and count any position that moved without a fill we saw. */
  async reconcile(): Promise<void> {
    // Orders before positions: an order that fills between the two reads is then counted in both until the
    // next poll, never in neither.
    const open = await this.deps.call('list open orders', () => this.deps.orders.getAllOrders({ status: 'open', limit: 500 }));
    for (const order of open) if (order.id && !this.open.has(order.id)) await this.track(order, { signalId: null, announce: false });
    const read = await this.readPositions();
    if (read && this.reconciled) {
      for (const symbol of new Set([...read.expected.keys(), ...this.positions.keys()])) {
        const was = read.expected.get(symbol) ?? 0;
        const now = this.positions.get(symbol) ?? 0;
        if (was !== now) {
          this.drift.inc({ symbol });
          this.log.warn({ symbol, was, now }, 'position differs from what the executor knew; taking the broker as truth');
        }
      }
    }
    this.reconciled = true;
    this.log.info({ positions: Object.fromEntries(this.positions), openOrders: this.open.size }, 'reconciled with the broker');
  }

  /**
   * Take the broker's positions, and drop the unsettled fills seen before the read was sent (it includes them).
   * Returns what the executor expected the read to show, or null when the answer was dropped as older than
   * the positions already held (reads from the poll and from `track` can overlap and answer out of order).
   */
  private async readPositions(): Promise<{ expected: Map<string, number> } | null> {
    const sentAt = ++this.tick;
    const expected = withFills(this.positions, this.unsettled);
    const list = await this.deps.call('list positions', () => this.deps.positions.getAllOpenPositions());
    if (sentAt < this.positionsReadSentAt) {
      this.staleReads.inc();
      this.log.info({ sentAt, heldSentAt: this.positionsReadSentAt }, 'positions read answered after a later one was applied; dropped');
      return null;
    }
    this.positionsReadSentAt = sentAt;
    this.positions.clear();
    for (const p of list) {
      const qty = Math.abs(num(p.qty)) * (p.side === 'short' ? -1 : 1);
      if (qty !== 0) this.positions.set(p.symbol, qty);
    }
    this.unsettled = stillUnsettled(this.unsettled, sentAt);
    this.setGauge();
    return { expected };
  }

  /** Count what `t` filled since it was last seen at `prevFilledQty` until a positions read includes it. */
  private sawFill(t: TrackedOrder, prevFilledQty: number): void {
    const fill = newFill(t, prevFilledQty, t.filledQty, ++this.tick);
    if (fill) this.unsettled.push(fill);
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
    this.unsettledGauge.set(this.unsettled.length);
  }
}
