import type { JetStreamManager } from '@nats-io/jetstream';
import { Bar, bar1mSubject, barMsgId, decodeAs, encodeChecked, streams } from '@vigil/contracts';
import {
  isNoMessageFound,
  isStreamNotFound,
  retryDelay,
  type BackoffPolicy,
  type Logger,
  type Metrics,
} from '@vigil/service-kit';
import { decide, initialOrder, type Decision, type OrderAction, type Outcome, type SymbolOrder } from './ordering.js';
import { SendQueue } from './send-queue.js';
import type { StreamPublisher } from './stream-publish.js';

export interface PublisherDeps {
  /** Where bars go out and their acks come back; its timeout is how long a symbol's later bars wait behind one. */
  stream: Pick<StreamPublisher, 'publish' | 'failInFlight'>;
  logger: Logger;
  metrics: Metrics;
  /** Pace of retries while NATS refuses a publish. Bars are never dropped: the head is retried forever. */
  retry: BackoffPolicy;
  /** Most bars held in memory (queued or waiting behind a backfill). */
  maxBuffered: number;
  /** Most publishes awaiting their ack at once, each of a different symbol (default 256). */
  maxInFlight?: number;
  /**
   * Called, synchronously, once the buffer has emptied after overflowing. The bars refused meanwhile
   * were never marked published, so a backfill started here (holding live bars first) fetches exactly them.
   */
  onOverflowCleared?: () => void;
  /**
   * Checked before each batch: false while this replica may not publish (a standby, or a leader whose lease could
   * have lapsed). The bars wait; the replica stops the publisher when it steps down.
   */
  mayPublish?: () => boolean;
  /** Every ack, as it comes: `duplicate` when the stream already had the bar's msg id (the audit's record). */
  onStored?: (bar: Bar, duplicate: boolean) => void;
  now?: () => number;
}

class ReconnectedError extends Error {
  override name = 'ReconnectedError';
}

export class NotLeaderError extends Error {
  override name = 'NotLeaderError';
}

interface QueuedBar {
  bar: Bar;
  msgId: string;
  /** When it was offered, for the publish latency histogram. */
  at: number;
  /** A repair's caller waits for its ack: was it a hole (stored now) or already there (a duplicate)? */
  settle?: (storedNow: boolean) => void;
}

/**
 * Publishes bars to JetStream exactly once and in time order per symbol. Three guards: a local
 * high-water mark per symbol drops what is already out; the `Nats-Msg-Id` (`<SYMBOL>:<t>`, `:r<n>` for
 * corrections) makes the stream drop any republish that slips through (after a restart, say); and a
 * symbol can be held while its gap is backfilled, so its live bars wait behind the older ones.
 * Which bar goes out when is decided in `ordering.ts`; this class carries the decisions out.
 */
export class BarPublisher {
  /** Each symbol's ordering state (high-water mark, held live bars, revisions). */
  private readonly orders = new Map<string, SymbolOrder>();
  /** The high-water marks of `orders`, kept as one map because backfill planning reads them all. */
  private readonly lastT = new Map<string, number>();
  /** Per symbol, the newest bar JetStream has acknowledged: what the heartbeat reports, unlike `lastT`, which
   * moves when a bar is queued (for ordering and dedup) even while NATS refuses it. */
  private readonly storedT = new Map<string, number>();
  /** Live bars held across all symbols, kept as a count so a full buffer is checked without a scan. */
  private heldBars = 0;
  private readonly queue = new SendQueue<QueuedBar>();
  private readonly publishedAt: number[] = [];
  /** `idle()` callers, woken when the queue empties or the publisher stops. */
  private idleWaiters: Array<() => void> = [];
  /** Pauses since the last stored bar (the outage's retry count, for the backoff); 0 while all is well. */
  private pauses = 0;
  /** Set while backing off after a refused publish: nothing new goes out until it fires. */
  private resumeTimer: ReturnType<typeof setTimeout> | null = null;
  private overflowed = false;
  private stopped = false;
  private readonly now: () => number;
  private readonly maxInFlight: number;
  private readonly log: Logger;
  private readonly m;

  constructor(private readonly deps: PublisherDeps) {
    this.now = deps.now ?? Date.now;
    this.maxInFlight = deps.maxInFlight ?? 256;
    this.log = deps.logger.child({ component: 'publisher' });
    const mt = deps.metrics;
    this.m = {
      published: mt.counter('gateway_bars_published_total', 'Bars stored in JetStream by source', ['source']),
      skipped: mt.counter(
        'gateway_bars_skipped_total',
        'Bars not stored because they were already out, by where that was caught',
        ['by'],
      ),
      failures: mt.counter('gateway_publish_failures_total', 'Failed JetStream publishes (each retried)'),
      corrections: mt.counter('gateway_bar_corrections_total', 'Corrected bars published'),
      overflow: mt.counter(
        'gateway_buffer_overflow_total',
        'Bars refused because the buffer was full (refetched by backfill later)',
      ),
      latency: mt.histogram(
        'gateway_publish_latency_seconds',
        'From a bar being offered to its JetStream ack',
        [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      ),
    };
    const self = this;
    mt.gauge('gateway_buffer_fill_ratio', 'Share of the bar buffer in use (1 = full)', [], function () {
      this.set(self.bufferFill());
    });
  }

  /** Start where the stream ends: the last stored bar of each symbol, so a restarted gateway fills its gap. */
  async loadLastPublished(jsm: JetStreamManager, symbols: readonly string[]): Promise<void> {
    // A few dozen reads in flight: SYMBOLS=* resumes thousands of symbols, one read each.
    for (let i = 0; i < symbols.length; i += 64)
      await Promise.all(symbols.slice(i, i + 64).map((symbol) => this.resumeFrom(jsm, symbol)));
    const last = [...this.lastT].map(([s, t]) => [s, new Date(t).toISOString()] as const);
    this.log.info(
      last.length <= 50 ? { last: Object.fromEntries(last) } : { symbols: last.length },
      'resuming from the last stored bars',
    );
  }

  private async resumeFrom(jsm: JetStreamManager, symbol: string): Promise<void> {
    const subject = bar1mSubject(symbol);
    const stored = await jsm.streams.getMessage(streams.bars.name, { last_by_subj: subject }).catch((err: unknown) => {
      if (isNoMessageFound(err) || isStreamNotFound(err)) return null;
      throw err;
    });
    if (!stored) return;
    const decoded = decodeAs(Bar, subject, stored.data);
    if (!decoded.ok) {
      this.log.error(
        { err: decoded.error, symbol },
        'last stored bar is unreadable; backfilling that symbol from the lookback',
      );
      return;
    }
    const t = Date.parse(decoded.value.t);
    this.perform(symbol, decide(this.orderOf(symbol), { type: 'resume', t, revision: decoded.value.revision }));
    this.storedT.set(symbol, t);
    this.deps.onStored?.(decoded.value, false);
  }

  /** The newest bar per symbol offered for publishing (queued or stored): where backfill starts. */
  lastPublished(): ReadonlyMap<string, number> {
    return this.lastT;
  }

  /**
   * The newest revision-0 bar of `symbol` this publisher has, sent or waiting behind a gap check or backfill: a live
   * bar right after it opens no new gap, so a symbol's bars streaming in while it is held do not ask again.
   */
  newestSeen(symbol: string): number | undefined {
    const { lastT, held } = this.orderOf(symbol);
    let newest = lastT;
    for (const bar of held ?? []) {
      const t = Date.parse(bar.t);
      if (bar.revision === 0 && (newest === undefined || t > newest)) newest = t;
    }
    return newest;
  }

  /** The newest bar per symbol JetStream has stored. */
  lastStored(): ReadonlyMap<string, number> {
    return this.storedT;
  }

  buffered(): number {
    return this.queue.size + this.heldBars;
  }

  bufferFill(): number {
    return Math.min(1, this.buffered() / this.deps.maxBuffered);
  }

  /** Bars stored in JetStream during the last 60 s of local time. */
  publishedLastMinute(): number {
    const cutoff = this.now() - 60_000;
    while (this.publishedAt.length > 0 && this.publishedAt[0]! < cutoff) this.publishedAt.shift();
    return this.publishedAt.length;
  }

  /** Live bars for `symbol` wait until `release` (its backfill is being published first). */
  hold(symbol: string): void {
    this.perform(symbol, decide(this.orderOf(symbol), { type: 'hold' }));
  }

  release(symbol: string): void {
    const order = this.orderOf(symbol);
    // The waiting bars leave the buffer as they are offered again, so they do not count against it.
    const full = this.full(order.held?.length ?? 0);
    this.perform(symbol, decide(order, { type: 'release', full }));
  }

  /**
   * Offer a bar. A held symbol's live bars wait; backfill and poll bars go straight in. `settle`, if given, hears
   * once the bar is acked whether the stream stored it (true) or already had it (false); only when it is queued.
   */
  offer(bar: Bar, settle?: (storedNow: boolean) => void): Outcome {
    const decision = decide(this.orderOf(bar.symbol), { type: 'bar', bar, full: this.full() });
    return this.perform(bar.symbol, decision, settle && { bar, settle }).outcome;
  }

  /** A correction (`updatedBars`) of a bar already out gets the next revision; one for a bar never sent is an ordinary bar. */
  offerCorrection(bar: Bar): Outcome {
    return this.perform(bar.symbol, decide(this.orderOf(bar.symbol), { type: 'correction', bar, full: this.full() }))
      .outcome;
  }

  /**
   * The audit's check of a minute at or before the high-water mark: sent under the bar's own msg id outside the
   * ordering rules (the mark says it went out), so the stream stores it only if it is missing. Resolves, once
   * acked, to whether it was missing. It waits in the queue like any bar while NATS refuses it.
   */
  offerRepair(bar: Bar): Promise<boolean> {
    // A correction of this minute coming later must be numbered after this bar, not sent as its first.
    if (bar.revision === 0)
      this.perform(bar.symbol, decide(this.orderOf(bar.symbol), { type: 'repaired', t: Date.parse(bar.t) }));
    return new Promise((settle) => {
      this.queue.push({ bar, msgId: barMsgId(bar.symbol, bar.t, bar.revision), at: this.now(), settle });
      this.pump();
    });
  }

  /** `offer`, resolving once acked to whether the stream stored it; false at once when it was not queued. */
  offerConfirmed(bar: Bar): Promise<boolean> {
    return new Promise((settle) => {
      if (this.offer(bar, settle) !== 'queued') settle(false);
    });
  }

  private orderOf(symbol: string): SymbolOrder {
    return this.orders.get(symbol) ?? initialOrder;
  }

  /** No room for one more bar, not counting `leaving`; refusing goes on until the buffer has drained. */
  private full(leaving = 0): boolean {
    return this.overflowed || this.buffered() - leaving >= this.deps.maxBuffered;
  }

  /** Take on a decision's state and carry out its actions; `ack` goes with the publish of its bar, if any. */
  private perform<D extends Decision>(
    symbol: string,
    decision: D,
    ack?: { bar: Bar; settle: (storedNow: boolean) => void },
  ): D {
    const { state } = decision;
    this.heldBars += (state.held?.length ?? 0) - (this.orderOf(symbol).held?.length ?? 0);
    this.orders.set(symbol, state);
    if (state.lastT !== undefined) this.lastT.set(symbol, state.lastT);
    for (const action of decision.actions) this.act(action, action.bar === ack?.bar ? ack.settle : undefined);
    if (decision.actions.some((a) => a.type === 'publish')) this.pump();
    return decision;
  }

  private act(action: OrderAction, settle?: (storedNow: boolean) => void): void {
    switch (action.type) {
      case 'publish':
        this.queue.push({ bar: action.bar, msgId: action.msgId, at: this.now(), ...(settle && { settle }) });
        break;
      case 'revise':
        this.m.corrections.inc();
        break;
      case 'skip':
        this.m.skipped.inc({ by: action.by });
        break;
      case 'refuse':
        this.refuse(action.bar);
        break;
      case 'hold':
        break; // counted in `heldBars` from the state
    }
  }

  /** Full: the bar was refused without being marked published, so the backfill after the overflow refetches it. */
  private refuse(bar: Bar): void {
    if (!this.overflowed)
      this.log.error(
        { buffered: this.buffered(), max: this.deps.maxBuffered },
        'bar buffer full (NATS down too long?); refusing bars until it drains, then backfilling them',
      );
    this.overflowed = true;
    this.m.overflow.inc();
    if (bar.revision === 0 && bar.source === 'live') this.m.skipped.inc({ by: 'overflow' });
  }

  /** Resolves once everything offered so far (not held) is stored, or the publisher has stopped. */
  idle(): Promise<void> {
    if (this.queue.size === 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = null;
    this.wakeIdle();
  }

  /**
   * NATS came back: publishes that were in flight when it dropped will never be acked, so fail them now and
   * retry at once instead of waiting out their timeouts. A copy the server did store is dropped by msg id.
   */
  reconnected(): void {
    this.deps.stream.failInFlight(new ReconnectedError('NATS reconnected; retrying publishes that were in flight'));
  }

  /** Fills the window: publishes ready bars until `maxInFlight` await their acks, unless backing off or stopped. */
  private pump(): void {
    while (!this.stopped && !this.resumeTimer && this.queue.inFlight < this.maxInFlight && this.queue.hasReady()) {
      if (this.deps.mayPublish && !this.deps.mayPublish()) {
        this.pause(new NotLeaderError('this replica does not hold the gateway lease; not publishing'));
        return;
      }
      const entry = this.queue.take()!;
      this.publishOne(entry).then(
        () => this.stored(entry),
        (err: unknown) => this.refused(entry, err),
      );
    }
  }

  private stored(entry: QueuedBar): void {
    this.queue.done(entry);
    if (this.pauses > 0) {
      this.log.info({ pauses: this.pauses }, 'JetStream accepting bars again');
      this.pauses = 0;
    }
    if (this.queue.size > 0) return this.pump();
    this.wakeIdle();
    if (this.overflowed && this.buffered() === 0) {
      this.overflowed = false;
      this.log.warn('bar buffer drained after overflowing; backfilling the refused bars');
      this.deps.onOverflowCleared?.();
    }
  }

  /** Not stored: the bar goes out again first, at once after a reconnect, else after a backoff. */
  private refused(entry: QueuedBar, err: unknown): void {
    this.queue.putBack(entry);
    if (err instanceof ReconnectedError) return this.pump();
    this.m.failures.inc();
    this.pause(err);
  }

  /** Stops sending for a jittered backoff (the publishes already out still land or fail); logged once per outage. */
  private pause(err: unknown): void {
    if (this.resumeTimer || this.stopped) return;
    this.pauses += 1;
    if (this.pauses === 1) {
      if (err instanceof NotLeaderError)
        this.log.warn({ queued: this.queue.size }, 'the lease could have lapsed: holding bars, not publishing');
      else
        this.log.error({ err, queued: this.queue.size }, 'cannot publish bars to JetStream; holding them and retrying');
    }
    // Floored at 50 ms: a zero draw would resend at once to a JetStream that just refused.
    const delayMs = retryDelay({ policy: this.deps.retry, floorMs: 50 }, this.pauses);
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = null;
      this.pump();
    }, delayMs);
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private async publishOne({ bar, msgId, at, settle }: QueuedBar): Promise<void> {
    // Checked against the contract where it entered (`barFromWire`): a bar here is a valid one.
    const ack = await this.deps.stream.publish(bar1mSubject(bar.symbol), encodeChecked(bar), msgId);
    const t = Date.parse(bar.t);
    if (t > (this.storedT.get(bar.symbol) ?? Number.NEGATIVE_INFINITY)) this.storedT.set(bar.symbol, t);
    this.deps.onStored?.(bar, ack.duplicate);
    settle?.(!ack.duplicate);
    // An audit check that found its minute stored is a confirmation, not a republish caught by the stream.
    if (ack.duplicate) {
      if (!settle) this.m.skipped.inc({ by: 'stream' });
    } else {
      this.m.published.inc({ source: bar.source });
      this.m.latency.observe((this.now() - at) / 1000);
      this.publishedAt.push(this.now());
    }
  }
}
