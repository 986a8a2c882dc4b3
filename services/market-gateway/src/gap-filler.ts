import type { Feed } from '@vigil/contracts';
import { retry, RetryAborted, type BackoffPolicy, type Logger, type Metrics } from '@vigil/service-kit';
import type { RejectBar } from './bars.js';
import { fillGap } from './fill-gap.js';
import type { BarsSource } from './rest-bars.js';
import type { BarPublisher } from './publisher.js';

export interface GapFillerDeps {
  bars: BarsSource;
  publisher: BarPublisher;
  /** The symbols to keep complete, as they are now (under SYMBOLS=* the universe grows). */
  symbols: () => readonly string[];
  feed: Feed;
  maxLookbackMs: number;
  rejectBar: RejectBar;
  retry: BackoffPolicy;
  /** Broker time: the window must be on the clock the bars are stamped with. */
  brokerNow: () => number;
  /** After each backfill run, with the live bars released (the audit checks what it left). */
  onBackfilled?: () => void;
  logger: Logger;
  metrics: Metrics;
}

/**
 * After every (re)subscription, fetch each symbol's gap from REST and publish it, oldest first, before
 * that symbol's live bars (which wait, held, meanwhile). A failed fetch is retried with backoff and the
 * live bars keep waiting: order and completeness win over latency.
 */
export class GapFiller {
  private running: Promise<void> | null = null;
  private covered = Number.NEGATIVE_INFINITY;
  private again = false;
  private stopped = false;
  private readonly stopping = new AbortController();
  private readonly log: Logger;
  private readonly m;

  constructor(private readonly deps: GapFillerDeps) {
    this.log = deps.logger.child({ component: 'backfill' });
    this.m = {
      runs: deps.metrics.counter('gateway_backfills_total', 'Backfill runs by outcome', ['outcome']),
      bars: deps.metrics.counter(
        'gateway_rest_bars_total',
        'Bars fetched from REST and offered for publishing, by source',
        ['source'],
      ),
    };
  }

  /** Start a backfill now, or once more after the one in flight. */
  trigger(reason: string): void {
    for (const s of this.deps.symbols()) this.deps.publisher.hold(s);
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop(reason).finally(() => (this.running = null));
  }

  /** A backfill is in flight (or waiting to retry), and the symbols' live bars are held behind it. */
  isRunning(): boolean {
    return this.running !== null;
  }

  /** Start of the latest minute the last successful fetch settled for every symbol (bar or no bar). */
  coveredThrough(): number {
    return this.covered;
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
    this.stopping.abort();
  }

  private async loop(reason: string): Promise<void> {
    do {
      this.again = false;
      await this.runUntilDone(reason);
    } while (this.again && !this.stopped);
    for (const s of this.deps.symbols()) this.deps.publisher.release(s);
    if (!this.stopped) this.deps.onBackfilled?.();
  }

  private async runUntilDone(reason: string): Promise<void> {
    try {
      await retry(
        async () => {
          try {
            await this.runOnce(reason);
          } catch (err) {
            this.m.runs.inc({ outcome: 'failed' });
            throw err;
          }
        },
        {
          label: 'backfill',
          policy: this.deps.retry,
          // Never back-to-back: full jitter can draw 0, and live bars are held while REST is hammered.
          floorMs: 100,
          signal: this.stopping.signal,
          logger: this.log,
          metrics: this.deps.metrics,
          level: 'error',
          message: 'backfill failed; live bars wait behind it; retrying',
        },
      );
    } catch (err) {
      if (!(err instanceof RetryAborted)) throw err; // stopped
    }
  }

  private async runOnce(reason: string): Promise<void> {
    const { bars, publisher, feed, maxLookbackMs, rejectBar } = this.deps;
    const brokerNowMs = this.deps.brokerNow();
    const result = await fillGap({
      bars,
      publisher,
      symbols: this.deps.symbols(),
      feed,
      maxLookbackMs,
      rejectBar,
      source: 'backfill',
      brokerNowMs,
    });
    if (!result) {
      this.m.runs.inc({ outcome: 'nothing_to_do' });
      this.log.debug({ reason }, 'no gap to backfill');
      return;
    }
    // Minutes up to here are settled for every symbol now, whether or not they had a bar.
    this.covered = Math.max(this.covered, result.settledThrough);
    this.m.bars.inc({ source: 'backfill' }, result.offered);
    this.m.runs.inc({ outcome: 'ok' });
    const { window, pages, offered } = result;
    this.log.info(
      {
        reason,
        from: new Date(window.start).toISOString(),
        to: new Date(window.end).toISOString(),
        pages,
        bars: offered,
      },
      'backfill done',
    );
  }
}
