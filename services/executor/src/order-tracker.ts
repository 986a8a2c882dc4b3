import type { trading } from '@alpacahq/alpaca-trade-api';
import type { BarSource, Side } from '@vigil/contracts';
import { signedQty, type Logger, type Metrics } from '@vigil/service-kit';
import type { BrokerCall } from './broker-call.js';
import { bookOf, exposureOf, newFill, stillUnsettled, withFills, type Book, type UnsettledFill } from './exposure.js';
import type { PublishOrderEvent } from './order-events.js';
import { isTerminal, orderChange, type OrderSnapshot } from './order-status.js';

export interface TrackedOrder {
  id: string;
  clientOrderId: string;
  symbol: string;
  side: Side;
  qty: number;
  status: string;
  filledQty: number;
  signalId: string | null;
  barSource: BarSource | null;
  /** Average fill price as last seen, for the next event. */
  avgPrice: number | null;
  /** The state the last acknowledged event announced (null: none yet); the next event is the change from it. */
  announced: OrderSnapshot | null;
  /** `submitted` not yet acknowledged, for an order we placed: the state it was placed in. */
  submittedOwed: OrderSnapshot | null;
}

export interface TrackOptions {
  signalId: string | null;
  barSource: BarSource | null;
  /** Publish its first event now (`submitted`, for an order we placed); otherwise it is taken as announced. */
  announce: boolean;
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
  /**
   * The outbox: orders whose latest change JetStream has not acknowledged. Retried on every poll, finished
   * orders included, and an order's `announced` state advances only on an ack, so no change is lost.
   */
  private readonly unannounced = new Map<string, TrackedOrder>();
  private readonly outboxFailures;
  private timers: NodeJS.Timeout[] = [];
  private reconciled = false;
  private busy: Promise<void> | null = null;

  constructor(private readonly deps: OrderTrackerDeps) {
    this.log = deps.logger.child({ component: 'order-tracker' });
    this.drift = deps.metrics.counter(
      'executor_position_drift_total',
      'Positions found different at the broker on reconcile',
      ['symbol'],
    );
    this.openGauge = deps.metrics.gauge('executor_open_orders', 'Orders being tracked until they are final');
    this.unsettledGauge = deps.metrics.gauge(
      'executor_unsettled_fills',
      'Fills seen that no positions read includes yet; counted in exposure on top of positions',
    );
    this.outboxFailures = deps.metrics.counter(
      'executor_order_event_publish_failures_total',
      'Order event publishes JetStream did not acknowledge (kept and retried)',
    );
    const outbox = this.unannounced;
    deps.metrics.gauge(
      'executor_order_events_unannounced',
      'Orders whose latest change is waiting for JetStream to acknowledge its event',
      [],
      function () {
        this.set(outbox.size);
      },
    );
    this.staleReads = deps.metrics.counter(
      'executor_position_reads_dropped_total',
      'Positions reads answered after a read sent later was applied, so dropped',
    );
  }

  /** Has this process seen an order with this client_order_id (open or finished)? */
  knows(clientOrderId: string): boolean {
    return this.seenClientIds.has(clientOrderId);
  }

  /** Signed shares held, plus fills the last positions read may have missed, plus the unfilled rest of open orders. */
  exposure(symbol: string): number {
    return exposureOf(symbol, this.positions, this.open.values(), this.unsettled);
  }

  /** The symbol's book by side (held, open buys, open sells), for the position limit. */
  book(symbol: string): Book {
    return bookOf(symbol, this.positions, this.open.values(), this.unsettled);
  }

  openOrders(): TrackedOrder[] {
    return [...this.open.values()];
  }

  /** Start following an order; `announce` publishes its first event (e.g. `submitted` for one we placed). */
  async track(order: trading.Order, opts: TrackOptions): Promise<TrackedOrder> {
    const t = this.register(order, opts);
    await this.settle(t);
    return t;
  }

  /**
   * The part of `track` that needs no I/O: from its return on, the order and any fill count in the book, so
   * the next risk check sees them. `settle` must follow (it announces the order and re-reads positions).
   */
  register(order: trading.Order, opts: TrackOptions): TrackedOrder {
    const t: TrackedOrder = {
      id: order.id ?? '',
      clientOrderId: order.clientOrderId ?? '',
      symbol: order.symbol ?? '',
      side: order.side === 'sell' ? 'sell' : 'buy',
      qty: num(order.qty),
      status: order.status ?? 'new',
      filledQty: num(order.filledQty),
      signalId: opts.signalId,
      barSource: opts.barSource,
      avgPrice: num(order.filledAvgPrice) || null,
      // An order found at the broker (not placed now) is announced from the state it is found in.
      announced: opts.announce ? null : { status: order.status ?? 'new', filledQty: num(order.filledQty) },
      submittedOwed: opts.announce ? { status: order.status ?? 'new', filledQty: num(order.filledQty) } : null,
    };
    this.seenClientIds.add(t.clientOrderId);
    // Counted before anything is awaited, so no risk check can run while the order or its fill is in neither.
    if (!isTerminal(t.status)) this.open.set(t.id, t);
    this.sawFill(t, 0);
    this.setGauge();
    return t;
  }

  /** Announce a registered order's first event (when owed) and, if it filled, re-read positions. */
  async settle(t: TrackedOrder): Promise<void> {
    if (t.submittedOwed) await this.announce(t);
    if (t.filledQty > 0) await this.readPositions();
  }

  /**
   * Read the open orders' current state and announce what changed: one list call for the recent orders (the
   * trading API allows 200 requests a minute), and a single-order read only for one too old to be in it. Then
   * re-read positions while any fill seen is not in them (also after a failed read, until one succeeds).
   */
  async poll(): Promise<void> {
    for (const t of [...this.unannounced.values()]) await this.announce(t);
    if (this.open.size > 0) await this.pollOrders();
    if (this.unsettled.length > 0) await this.readPositions();
  }

  private async pollOrders(): Promise<void> {
    const recent = await this.deps.call('list recent orders', () =>
      this.deps.orders.getAllOrders({ status: 'all', limit: 500, direction: 'desc' }),
    );
    const byId = new Map(recent.map((o) => [o.id, o]));
    for (const t of [...this.open.values()]) {
      let order = byId.get(t.id);
      try {
        order ??= await this.deps.call('get order', () => this.deps.orders.getOrderByOrderID({ orderId: t.id }));
      } catch {
        continue; // logged and counted by the broker call; tried again on the next poll
      }
      const cur = { status: order.status ?? t.status, filledQty: num(order.filledQty) };
      // In one step: what leaves the order's unfilled rest becomes an unsettled fill.
      const prevFilledQty = t.filledQty;
      t.status = cur.status;
      t.filledQty = cur.filledQty;
      t.avgPrice = num(order.filledAvgPrice) || t.avgPrice;
      this.sawFill(t, prevFilledQty);
      if (isTerminal(cur.status)) this.open.delete(t.id);
      this.setGauge();
      await this.announce(t);
    }
  }

  /** Read open orders and positions from the broker; log and count any position that moved without a fill we saw. */
  async reconcile(): Promise<void> {
    // Orders before positions: an order that fills between the two reads is then counted in both until the
    // next poll, never in neither.
    const open = await this.deps.call('list open orders', () =>
      this.deps.orders.getAllOrders({ status: 'open', limit: 500 }),
    );
    // An open order this process does not track yet was placed before a restart (or outside the executor):
    // the broker's order does not hold its signal's bar source, so its events carry null.
    for (const order of open)
      if (order.id && !this.open.has(order.id))
        await this.track(order, { signalId: null, barSource: null, announce: false });
    const read = await this.readPositions();
    if (read && this.reconciled) {
      for (const symbol of new Set([...read.expected.keys(), ...this.positions.keys()])) {
        const was = read.expected.get(symbol) ?? 0;
        const now = this.positions.get(symbol) ?? 0;
        if (was !== now) {
          this.drift.inc({ symbol });
          this.log.warn(
            { symbol, was, now },
            'position differs from what the executor knew; taking the broker as truth',
          );
        }
      }
    }
    this.reconciled = true;
    this.log.info(
      { positions: Object.fromEntries(this.positions), openOrders: this.open.size },
      'reconciled with the broker',
    );
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
      this.log.info(
        { sentAt, heldSentAt: this.positionsReadSentAt },
        'positions read answered after a later one was applied; dropped',
      );
      return null;
    }
    this.positionsReadSentAt = sentAt;
    this.positions.clear();
    for (const p of list) {
      const qty = signedQty(num(p.qty), p.side);
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
    this.timers = [
      setInterval(
        serial('order poll', () => this.poll()),
        pollMs,
      ),
      setInterval(
        serial('reconcile', () => this.reconcile()),
        reconcileMs,
      ),
    ];
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.busy;
    for (const t of [...this.unannounced.values()]) await this.announce(t);
    if (this.unannounced.size > 0) {
      this.log.error(
        { orders: [...this.unannounced.keys()] },
        'stopping with order events JetStream never acknowledged; the orders are at the broker, their latest change is not in ORDERS',
      );
    }
  }

  /**
   * Announce what changed since the last acknowledged event (`submitted` first, for an order we placed). On a
   * failed publish the order stays in the outbox, its `announced` state unchanged, and the next poll tries
   * again: the change is never lost, though two changes may then go out as one (the later state).
   */
  private async announce(t: TrackedOrder): Promise<void> {
    try {
      if (t.submittedOwed) {
        // As placed: a retry sends the same event (and msg id) as the first try.
        await this.publish('submitted', { ...t, ...t.submittedOwed }, t.avgPrice);
        t.submittedOwed = null;
      }
      const cur = { status: t.status, filledQty: t.filledQty };
      const kind = orderChange(t.announced, cur);
      if (kind) await this.publish(kind, t, t.avgPrice);
      t.announced = cur;
      if (this.unannounced.delete(t.id)) this.log.info({ orderId: t.id }, 'order event acknowledged after a retry');
    } catch (err) {
      this.outboxFailures.inc();
      if (!this.unannounced.has(t.id))
        this.log.warn(
          { err, orderId: t.id, status: t.status },
          'order event not acknowledged by JetStream; kept and retried on every poll',
        );
      this.unannounced.set(t.id, t);
    }
  }

  private async publish(
    event: Parameters<PublishOrderEvent>[0]['event'],
    t: TrackedOrder,
    filledAvgPrice: number | null,
  ): Promise<void> {
    await this.deps.publish({
      event,
      symbol: t.symbol,
      side: t.side,
      qty: t.qty,
      signalId: t.signalId,
      barSource: t.barSource,
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
