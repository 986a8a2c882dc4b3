import { retry, RetryAborted, type BackoffPolicy, type Logger, type Metrics } from '@vigil/service-kit';
import { checkGaps, fillGap, type RestFillDeps } from './fill-gap.js';

export interface GapFillerDeps extends RestFillDeps {
  retry: BackoffPolicy;
  /** After each full backfill run, with the live bars released (the audit checks what it left). */
  onBackfilled?: () => void;
  logger: Logger;
  metrics: Metrics;
}

/** Attempts at a gap check whose answer stops short of the live bar, before its bars go out unsettled. */
export const GAP_CHECK_ATTEMPTS = 3;

/** A gap check's answer did not reach the live bar that opened the gap: REST lags the stream, for now. */
class GapStillInDoubt extends Error {
  override name = 'GapStillInDoubt';
  constructor(readonly symbols: readonly string[]) {
    super(`REST does not yet reach the live bar for ${symbols.length} symbol(s): ${sample(symbols)}`);
  }
}

/**
 * Keeps each symbol's bars complete from REST, publishing them oldest first before that symbol's live bars (which
 * wait, held, meanwhile). Two kinds of run, one at a time so a symbol is released only once nothing still needs
 * it held:
 * - a backfill of every symbol after each (re)subscription, overflow or takeover;
 * - a gap check of only the symbols whose live bar skipped minutes. No clock settles those minutes: a REST answer
 *   reaching the live bar does (`unsettled`); the audit catches what a check gave up on.
 * A failed fetch is retried with backoff and the live bars keep waiting: order and completeness win over latency.
 */
export class GapFiller {
  private running: Promise<void> | null = null;
  private backfillDue: string | null = null;
  private backfilling = false;
  /** Symbols waiting for a gap check, with the newest live bar that skipped minutes. */
  private checksDue = new Map<string, number>();
  private stopped = false;
  private readonly stopping = new AbortController();
  private readonly log: Logger;
  private readonly m;

  constructor(private readonly deps: GapFillerDeps) {
    this.log = deps.logger.child({ component: 'backfill' });
    this.m = {
      runs: deps.metrics.counter('gateway_backfills_total', 'Backfill runs by outcome', ['outcome']),
      checks: deps.metrics.counter(
        'gateway_gap_checks_total',
        'Symbols whose skipped minutes were checked against REST, by outcome (settled, or unsettled after retries)',
        ['outcome'],
      ),
      bars: deps.metrics.counter(
        'gateway_rest_bars_total',
        'Bars fetched from REST and offered for publishing, by source',
        ['source'],
      ),
    };
  }

  /** Backfill every symbol now, or once more after the run in flight. */
  trigger(reason: string): void {
    for (const s of this.deps.symbols()) this.deps.publisher.hold(s);
    this.backfillDue ??= reason;
    this.start();
  }

  /** Check `symbol`'s minutes before its live bar at `liveT`, which skipped them; its live bars wait meanwhile. */
  checkGap(symbol: string, liveT: number): void {
    this.deps.publisher.hold(symbol);
    this.checksDue.set(symbol, Math.max(liveT, this.checksDue.get(symbol) ?? liveT));
    this.start();
  }

  /**
   * A backfill of every symbol is due or in flight (or waiting to retry), all live bars held behind it. A gap check
   * holds only its few symbols and is routine for sparse ones, so it does not count.
   */
  isBackfilling(): boolean {
    return this.backfillDue !== null || this.backfilling;
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
    this.stopping.abort();
  }

  private start(): void {
    this.running ??= this.loop().finally(() => (this.running = null));
  }

  private async loop(): Promise<void> {
    // One turn of the event loop first, so the live bars of one frame that skipped minutes share one request.
    await new Promise((resolve) => setImmediate(resolve));
    while (!this.stopped && (this.backfillDue !== null || this.checksDue.size > 0)) {
      if (this.backfillDue !== null) {
        const reason = this.backfillDue;
        this.backfillDue = null;
        const symbols = this.deps.symbols();
        this.backfilling = true;
        try {
          await this.untilDone('backfill', 'error', 'backfill failed; live bars wait behind it; retrying', () =>
            this.backfillOnce(reason),
          );
        } finally {
          this.backfilling = false;
        }
        this.releaseUnlessDue(symbols);
        if (!this.stopped && this.backfillDue === null) this.deps.onBackfilled?.();
      } else {
        const due = this.checksDue;
        this.checksDue = new Map();
        await this.checkUntilSettled(due);
        this.releaseUnlessDue(due.keys());
      }
    }
  }

  /** Release what the run held, except what a run still due holds again. */
  private releaseUnlessDue(symbols: Iterable<string>): void {
    if (this.backfillDue !== null && !this.stopped) return;
    for (const s of symbols) if (!this.checksDue.has(s)) this.deps.publisher.release(s);
  }

  private async untilDone(
    label: string,
    level: 'warn' | 'error',
    message: string,
    op: () => Promise<void>,
    opts: { shouldRetry?: (err: unknown, attempt: number) => boolean } = {},
  ): Promise<void> {
    try {
      await retry(op, {
        label,
        policy: this.deps.retry,
        // Never back-to-back: full jitter can draw 0, and live bars are held while REST is hammered.
        floorMs: 100,
        signal: this.stopping.signal,
        logger: this.log,
        metrics: this.deps.metrics,
        level,
        message,
        ...opts,
      });
    } catch (err) {
      if (!(err instanceof RetryAborted)) throw err; // stopped
    }
  }

  private async backfillOnce(reason: string): Promise<void> {
    let result: Awaited<ReturnType<typeof fillGap>>;
    try {
      result = await fillGap(this.deps, { source: 'backfill' });
    } catch (err) {
      this.m.runs.inc({ outcome: 'failed' });
      throw err;
    }
    if (!result) {
      this.m.runs.inc({ outcome: 'nothing_to_do' });
      this.log.debug({ reason }, 'no gap to backfill');
      return;
    }
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

  /** Gap checks until every symbol's answer reaches its live bar, or `GAP_CHECK_ATTEMPTS` answers did not. */
  private async checkUntilSettled(due: ReadonlyMap<string, number>): Promise<void> {
    let inDoubt = due;
    const attempt = async () => {
      const result = await checkGaps(this.deps, inDoubt);
      this.m.bars.inc({ source: 'gap_check' }, result.offered);
      this.m.checks.inc({ outcome: 'settled' }, result.checked - result.unsettled.length);
      if (result.offered > 0)
        this.log.info(
          { symbols: result.checked, bars: result.offered, pages: result.pages },
          'gap check found bars the stream missed; published them before the live ones',
        );
      if (result.unsettled.length > 0) {
        inDoubt = new Map(result.unsettled.map((s) => [s, inDoubt.get(s)!]));
        throw new GapStillInDoubt(result.unsettled);
      }
    };
    try {
      await this.untilDone('gap_check', 'warn', 'gap check incomplete; live bars wait behind it; retrying', attempt, {
        shouldRetry: (err, n) => !(err instanceof GapStillInDoubt) || n < GAP_CHECK_ATTEMPTS,
      });
    } catch (err) {
      if (!(err instanceof GapStillInDoubt)) throw err;
      this.m.checks.inc({ outcome: 'unsettled' }, err.symbols.length);
      this.log.warn(
        { symbols: err.symbols.length, sample: sample(err.symbols), attempts: GAP_CHECK_ATTEMPTS },
        'REST has not caught up with the stream for these symbols; their live bars go out now and the audit checks the minutes before them',
      );
    }
  }
}

function sample(symbols: readonly string[]): string {
  return symbols.length <= 5 ? symbols.join(',') : `${symbols.slice(0, 5).join(',')},…`;
}
