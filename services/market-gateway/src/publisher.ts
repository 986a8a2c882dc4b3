import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { Bar, bar1mSubject, barMsgId, decodeAs, encode, streams } from '@vigil/contracts';
import { backoffDelay, type BackoffPolicy, type Logger, type Metrics } from '@vigil/service-kit';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PublisherDeps {
  js: JetStreamClient;
  logger: Logger;
  metrics: Metrics;
  /** Pace of retries while NATS refuses a publish. Bars are never dropped: the head is retried forever. */
  retry: BackoffPolicy;
  /** Most bars held in memory (queued or waiting behind a backfill). */
  maxBuffered: number;
  /**
   * How long to wait for JetStream's ack before retrying (default 2000, nats.js's own is 5 s): the symbol's
   * later bars wait behind it. Retrying is safe: the msg id makes the stream drop a copy it already has.
   */
  publishTimeoutMs?: number;
  /** Most publishes awaiting their ack at once, each of a different symbol (default 512). */
  maxInFlight?: number;
  /**
   * Called, synchronously, once the buffer has emptied after overflowing. The bars refused meanwhile
   * were never marked published, so a backfill started here (holding live bars first) fetches exactly them.
   */
  onOverflowCleared?: () => void;
  now?: () => number;
}

class ReconnectedError extends Error {
  override name = 'ReconnectedError';
}

/** A promise that only ever rejects, when the connection it stands for is replaced. */
function lostSignal(): { promise: Promise<never>; reject: (err: Error) => void } {
  let reject: (err: Error) => void = () => {};
  const promise = new Promise<never>((_, r) => (reject = r));
  promise.catch(() => {});
  return { promise, reject };
}

interface QueuedBar {
  bar: Bar;
  /** When it was offered, for the publish latency histogram. */
  at: number;
}

const byTimeThenRevision = (a: Bar, b: Bar): number => Date.parse(a.t) - Date.parse(b.t) || a.revision - b.revision;

/**
 * The bars to publish together: from the head of the queue, the first queued bar of each symbol, so many
 * symbols' bars are in flight at once (one round trip for a whole minute's bars) while each symbol's bars
 * still go out one after another, in order, even when one publish fails and a later one would not have.
 * Looks no further than `4 × max` entries, so a long backlog of one symbol costs little per batch.
 */
export function nextBatch<T extends { bar: Pick<Bar, 'symbol'> }>(queue: readonly T[], max: number): T[] {
  const symbols = new Set<string>();
  const batch: T[] = [];
  const scan = Math.min(queue.length, max * 4);
  for (let i = 0; i < scan && batch.length < max; i++) {
    const entry = queue[i]!;
    if (symbols.has(entry.bar.symbol)) continue;
    symbols.add(entry.bar.symbol);
    batch.push(entry);
  }
  return batch;
}

/**
 * Publishes bars to JetStream exactly once and in time order per symbol. Three guards: a local
 * high-water mark per symbol drops what is already out; the `Nats-Msg-Id` (`<SYMBOL>:<t>`, `:r<n>` for
 * corrections) makes the stream drop any republish that slips through (after a restart, say); and a
 * symbol can be held while its gap is backfilled, so its live bars wait behind the older ones.
 */
export class BarPublisher {
  private readonly lastT = new Map<string, number>();
  /** Per symbol, the newest bar JetStream has acknowledged: what the heartbeat reports, unlike `lastT`, which
   * moves when a bar is queued (for ordering and dedup) even while NATS refuses it. */
  private readonly storedT = new Map<string, number>();
  private readonly revisions = new Map<string, number>();
  private readonly held = new Map<string, Bar[]>();
  private queue: QueuedBar[] = [];
  private readonly publishedAt: number[] = [];
  private draining: Promise<void> | null = null;
  private connectionLost = lostSignal();
  private overflowed = false;
  private stopped = false;
  private readonly now: () => number;
  private readonly maxInFlight: number;
  private readonly log: Logger;
  private readonly m;

  constructor(private readonly deps: PublisherDeps) {
    this.now = deps.now ?? Date.now;
    this.maxInFlight = deps.maxInFlight ?? 512;
    this.log = deps.logger.child({ component: 'publisher' });
    const mt = deps.metrics;
    this.m = {
      published: mt.counter('gateway_bars_published_total', 'Bars stored in JetStream by source', ['source']),
      skipped: mt.counter('gateway_bars_skipped_total', 'Bars not stored because they were already out, by where that was caught', ['by']),
      failures: mt.counter('gateway_publish_failures_total', 'Failed JetStream publishes (each retried)'),
      corrections: mt.counter('gateway_bar_corrections_total', 'Corrected bars published'),
      overflow: mt.counter('gateway_buffer_overflow_total', 'Bars refused because the buffer was full (refetched by backfill later)'),
      latency: mt.histogram('gateway_publish_latency_seconds', 'From a bar being offered to its JetStream ack', [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120]),
    };
    const self = this;
    mt.gauge('gateway_buffer_fill', 'Share of the bar buffer in use (1 = full)', [], function () {
      this.set(self.bufferFill());
    });
  }

  /** Start where the stream ends: the last stored bar of each symbol, so a restarted gateway fills its gap. */
  async loadLastPublished(jsm: JetStreamManager, symbols: readonly string[]): Promise<void> {
    for (const symbol of symbols) {
      const subject = bar1mSubject(symbol);
      const stored = await jsm.streams.getMessage(streams.bars.name, { last_by_subj: subject }).catch((err: unknown) => {
        if (err instanceof Error && /no message found|not found/i.test(err.message)) return null;
        throw err;
      });
      if (!stored) continue;
      const decoded = decodeAs(Bar, subject, stored.data);
      if (!decoded.ok) {
        this.log.error({ err: decoded.error }, 'last stored bar is unreadable; backfilling that symbol from the lookback');
        continue;
      }
      const t = Date.parse(decoded.value.t);
      this.lastT.set(symbol, t);
      this.storedT.set(symbol, t);
      this.revisions.set(`${symbol}:${t}`, decoded.value.revision);
    }
    this.log.info({ last: Object.fromEntries([...this.lastT].map(([s, t]) => [s, new Date(t).toISOString()])) }, 'resuming from the last stored bars');
  }

  /** The newest bar per symbol offered for publishing (queued or stored): where backfill starts. */
  lastPublished(): ReadonlyMap<string, number> {
    return this.lastT;
  }

  /** The newest bar per symbol JetStream has stored. */
  lastStored(): ReadonlyMap<string, number> {
    return this.storedT;
  }

  buffered(): number {
    let held = 0;
    for (const list of this.held.values()) held += list.length;
    return this.queue.length + held;
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
    if (!this.held.has(symbol)) this.held.set(symbol, []);
  }

  release(symbol: string): void {
    const waiting = this.held.get(symbol) ?? [];
    this.held.delete(symbol);
    // Bars that arrived out of order while held go out in time order.
    waiting.sort(byTimeThenRevision);
    for (const bar of waiting) this.offer(bar);
  }

  /** Offer a bar. A held symbol's live bars wait; backfill and poll bars go straight in. */
  offer(bar: Bar): 'queued' | 'held' | 'skipped' | 'overflow' {
    if (this.overflowed || this.buffered() >= this.deps.maxBuffered) return this.refuse(bar);
    const waiting = this.held.get(bar.symbol);
    if (!waiting) return this.enqueue(bar);
    if (bar.source === 'live') {
      waiting.push(bar);
      return 'held';
    }
    return this.offerPastHeld(bar, waiting);
  }

  /**
   * A backfill or poll bar for a held symbol. It raises the high-water mark, so live bars waiting at or before
   * its minute go out first, in order; were they left for the release they would count as already out and be
   * lost. A waiting live copy of the same minute goes out instead of it, so that bar keeps its live label.
   */
  private offerPastHeld(bar: Bar, waiting: Bar[]): 'queued' | 'skipped' {
    const t = Date.parse(bar.t);
    const due = waiting.filter((w) => Date.parse(w.t) <= t);
    if (due.length > 0) this.held.set(bar.symbol, waiting.filter((w) => Date.parse(w.t) > t));
    for (const w of due.sort(byTimeThenRevision)) this.enqueue(w);
    if (bar.revision === 0 && due.some((w) => w.revision === 0 && Date.parse(w.t) === t)) {
      this.m.skipped.inc({ by: 'held_live' });
      return 'skipped';
    }
    return this.enqueue(bar);
  }

  private enqueue(bar: Bar): 'queued' | 'skipped' {
    const t = Date.parse(bar.t);
    const last = this.lastT.get(bar.symbol);
    if (bar.revision === 0) {
      if (last !== undefined && t <= last) {
        this.m.skipped.inc({ by: 'gateway' });
        return 'skipped';
      }
      this.lastT.set(bar.symbol, t);
    }
    this.queue.push({ bar, at: this.now() });
    this.drain();
    return 'queued';
  }

  /** Full: refuse without marking the bar published, so the backfill after the overflow refetches it. */
  private refuse(bar: Bar): 'overflow' {
    if (!this.overflowed) this.log.error({ buffered: this.buffered(), max: this.deps.maxBuffered }, 'bar buffer full (NATS down too long?); refusing bars until it drains, then backfilling them');
    this.overflowed = true;
    this.m.overflow.inc();
    if (bar.revision === 0 && bar.source === 'live') this.m.skipped.inc({ by: 'overflow' });
    return 'overflow';
  }

  /** A correction (`updatedBars`) of a bar already out gets the next revision; one for a bar never sent is an ordinary bar. */
  offerCorrection(bar: Bar): 'queued' | 'held' | 'skipped' | 'overflow' {
    const t = Date.parse(bar.t);
    const last = this.lastT.get(bar.symbol);
    if (last === undefined || t > last) {
      // The bar it corrects is still waiting behind a backfill: the corrected values take its place.
      const waiting = this.held.get(bar.symbol);
      const original = waiting?.findIndex((w) => w.revision === 0 && Date.parse(w.t) === t) ?? -1;
      if (waiting && original >= 0) {
        waiting[original] = bar;
        return 'held';
      }
      return this.offer(bar);
    }
    const key = `${bar.symbol}:${t}`;
    const revision = (this.revisions.get(key) ?? 0) + 1;
    this.revisions.set(key, revision);
    this.m.corrections.inc();
    return this.offer({ ...bar, revision });
  }

  /** Resolves once everything offered so far (not held) is stored. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * NATS came back: publishes that were in flight when it dropped will never be acked, so fail them now and
   * retry at once instead of waiting out their timeouts. A copy the server did store is dropped by msg id.
   */
  reconnected(): void {
    this.connectionLost.reject(new ReconnectedError('NATS reconnected; retrying publishes that were in flight'));
    this.connectionLost = lostSignal();
  }

  private async publishOne({ bar, at }: QueuedBar): Promise<void> {
    const published = this.deps.js.publish(bar1mSubject(bar.symbol), encode(Bar, bar), {
      msgID: barMsgId(bar.symbol, bar.t, bar.revision),
      timeout: this.deps.publishTimeoutMs ?? 2_000,
    });
    published.catch(() => {}); // a publish abandoned below must not surface as an unhandled rejection
    const ack = await Promise.race([published, this.connectionLost.promise]);
    const t = Date.parse(bar.t);
    if (t > (this.storedT.get(bar.symbol) ?? Number.NEGATIVE_INFINITY)) this.storedT.set(bar.symbol, t);
    if (ack.duplicate) this.m.skipped.inc({ by: 'stream' });
    else {
      this.m.published.inc({ source: bar.source });
      this.m.latency.observe((this.now() - at) / 1000);
      this.publishedAt.push(this.now());
    }
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = (async () => {
      let failures = 0;
      while (this.queue.length > 0 && !this.stopped) {
        const batch = nextBatch(this.queue, this.maxInFlight);
        const results = await Promise.allSettled(batch.map((entry) => this.publishOne(entry)));
        const done = new Set(batch.filter((_, i) => results[i]!.status === 'fulfilled'));
        if (done.size > 0) this.queue = this.queue.filter((entry) => !done.has(entry));
        const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (rejected.length === 0) {
          if (failures > 0) this.log.info({ failures }, 'JetStream accepting bars again');
          failures = 0;
          continue;
        }
        const failed = rejected.find((r) => !(r.reason instanceof ReconnectedError));
        if (!failed) continue; // abandoned because NATS came back: retry at once, no backoff
        this.m.failures.inc(batch.length - done.size);
        if (failures === 0) this.log.error({ err: failed.reason, queued: this.queue.length }, 'cannot publish bars to JetStream; holding them and retrying');
        await sleep(backoffDelay(this.deps.retry, failures) + 50);
        failures += 1;
      }
    })().finally(() => {
      this.draining = null;
      if (this.queue.length > 0 && !this.stopped) this.drain();
      else if (this.overflowed && this.buffered() === 0) {
        this.overflowed = false;
        this.log.warn('bar buffer drained after overflowing; backfilling the refused bars');
        this.deps.onOverflowCleared?.();
      }
    });
  }
}
