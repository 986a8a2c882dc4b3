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
  onPublished?: (bar: Bar) => void;
}

/**
 * Publishes bars to JetStream exactly once and in time order per symbol. Three guards: a local
 * high-water mark per symbol drops what is already out; the `Nats-Msg-Id` (`<SYMBOL>:<t>`, `:r<n>` for
 * corrections) makes the stream drop any republish that slips through (after a restart, say); and a
 * symbol can be held while its gap is backfilled, so its live bars wait behind the older ones.
 */
export class BarPublisher {
  private readonly lastT = new Map<string, number>();
  private readonly revisions = new Map<string, number>();
  private readonly held = new Map<string, Bar[]>();
  private readonly queue: Bar[] = [];
  private draining: Promise<void> | null = null;
  private stopped = false;
  private readonly log: Logger;
  private readonly m;

  constructor(private readonly deps: PublisherDeps) {
    this.log = deps.logger.child({ component: 'publisher' });
    const mt = deps.metrics;
    this.m = {
      published: mt.counter('gateway_bars_published_total', 'Bars stored in JetStream by source', ['source']),
      skipped: mt.counter('gateway_bars_skipped_total', 'Bars not stored because they were already out, by where that was caught', ['by']),
      failures: mt.counter('gateway_publish_failures_total', 'Failed JetStream publishes (each retried)'),
      corrections: mt.counter('gateway_bar_corrections_total', 'Corrected bars published'),
    };
    const self = this;
    mt.gauge('gateway_publish_queue_depth', 'Bars waiting to be published, including held live bars', [], function () {
      this.set(self.queue.length + [...self.held.values()].reduce((n, l) => n + l.length, 0));
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
      this.revisions.set(`${symbol}:${t}`, decoded.value.revision);
    }
    this.log.info({ last: Object.fromEntries([...this.lastT].map(([s, t]) => [s, new Date(t).toISOString()])) }, 'resuming from the last stored bars');
  }

  lastPublished(): ReadonlyMap<string, number> {
    return this.lastT;
  }

  /** Live bars for `symbol` wait until `release` (its backfill is being published first). */
  hold(symbol: string): void {
    if (!this.held.has(symbol)) this.held.set(symbol, []);
  }

  release(symbol: string): void {
    const waiting = this.held.get(symbol) ?? [];
    this.held.delete(symbol);
    for (const bar of waiting) this.offer(bar);
  }

  /** Offer a bar. A held symbol's live bars wait; backfill and poll bars go straight in. */
  offer(bar: Bar): 'queued' | 'held' | 'skipped' {
    const waiting = this.held.get(bar.symbol);
    if (waiting && bar.source === 'live') {
      waiting.push(bar);
      return 'held';
    }
    const t = Date.parse(bar.t);
    const last = this.lastT.get(bar.symbol);
    if (bar.revision === 0) {
      if (last !== undefined && t <= last) {
        this.m.skipped.inc({ by: 'gateway' });
        return 'skipped';
      }
      this.lastT.set(bar.symbol, t);
    }
    this.queue.push(bar);
    this.drain();
    return 'queued';
  }

  /** A correction (`updatedBars`) of a bar already out gets the next revision; one for a bar never sent is an ordinary bar. */
  offerCorrection(bar: Bar): 'queued' | 'held' | 'skipped' {
    const t = Date.parse(bar.t);
    const last = this.lastT.get(bar.symbol);
    if (last === undefined || t > last) return this.offer(bar);
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

  private drain(): void {
    if (this.draining) return;
    this.draining = (async () => {
      let failures = 0;
      while (this.queue.length > 0 && !this.stopped) {
        const bar = this.queue[0]!;
        try {
          const ack = await this.deps.js.publish(bar1mSubject(bar.symbol), encode(Bar, bar), { msgID: barMsgId(bar.symbol, bar.t, bar.revision) });
          this.queue.shift();
          if (failures > 0) this.log.info({ failures }, 'JetStream accepting bars again');
          failures = 0;
          if (ack.duplicate) this.m.skipped.inc({ by: 'stream' });
          else {
            this.m.published.inc({ source: bar.source });
            this.deps.onPublished?.(bar);
          }
        } catch (err) {
          this.m.failures.inc();
          if (failures === 0) this.log.error({ err, queued: this.queue.length }, 'cannot publish bars to JetStream; holding them and retrying');
          await sleep(backoffDelay(this.deps.retry, failures) + 50);
          failures += 1;
        }
      }
    })().finally(() => {
      this.draining = null;
      if (this.queue.length > 0 && !this.stopped) this.drain();
    });
  }
}
