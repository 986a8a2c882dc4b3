import type { Logger, Metrics } from '@vigil/service-kit';

/** Who asks for a REST request. When the budget runs short, a backfill (live bars wait behind it) goes first, then
 * outage polling (the only bars while the stream is down), then the audit (a check that can wait). */
export type RestPriority = 'backfill' | 'poll' | 'audit';
const RANK: Record<RestPriority, number> = { backfill: 0, poll: 1, audit: 2 };

export interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket refilled at `perMinute`, holding at most `burst`. Pure. */
export function refill(bucket: Bucket, now: number, perMinute: number, burst: number): Bucket {
  const tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) * perMinute) / 60_000);
  return { tokens, at: now };
}

/** How long until the bucket holds one whole token. Pure. */
export function msUntilToken(bucket: Bucket, perMinute: number): number {
  return bucket.tokens >= 1 ? 0 : Math.ceil(((1 - bucket.tokens) * 60_000) / perMinute);
}

export interface RestBudgetOptions {
  /** Requests a minute (ALPACA_REST_RATE_LIMIT): the gateway's share of Alpaca's 200/min. */
  perMinute: number;
  /** Requests that may go at once after a quiet spell. */
  burst: number;
  now?: () => number;
  logger: Logger;
  metrics: Metrics;
}

interface Waiter {
  priority: RestPriority;
  seq: number;
  grant: () => void;
}

/**
 * The gateway's market-data REST budget, shared by backfill, polling and the audit. The SDK's own limiter queues
 * first come, first served; this one queues by priority, so an audit paging through thousands of symbols never
 * keeps a backfill (and the live bars held behind it) waiting.
 */
export class RestBudget {
  private bucket: Bucket;
  private readonly waiting: Waiter[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private short = false;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly m;

  constructor(private readonly opts: RestBudgetOptions) {
    this.now = opts.now ?? Date.now;
    this.bucket = { tokens: opts.burst, at: this.now() };
    this.log = opts.logger.child({ component: 'rest-budget' });
    this.m = {
      requests: opts.metrics.counter('gateway_rest_requests_total', 'Market-data REST requests by priority', [
        'priority',
      ]),
      waited: opts.metrics.counter(
        'gateway_rest_budget_wait_seconds_total',
        'Time REST requests waited for the request budget, by priority',
        ['priority'],
      ),
    };
    const self = this;
    opts.metrics.gauge('gateway_rest_budget_waiting', 'REST requests waiting for the request budget', [], function () {
      this.set(self.waiting.length);
    });
  }

  /** Resolves when a request of this priority may go. */
  acquire(priority: RestPriority): Promise<void> {
    const askedAt = this.now();
    return new Promise((resolve) => {
      this.waiting.push({
        priority,
        seq: this.seq++,
        grant: () => {
          this.m.requests.inc({ priority });
          this.m.waited.inc({ priority }, (this.now() - askedAt) / 1000);
          resolve();
        },
      });
      this.waiting.sort((a, b) => RANK[a.priority] - RANK[b.priority] || a.seq - b.seq);
      this.drain();
    });
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private drain(): void {
    this.bucket = refill(this.bucket, this.now(), this.opts.perMinute, this.opts.burst);
    while (this.waiting.length > 0 && this.bucket.tokens >= 1) {
      this.bucket.tokens -= 1;
      this.waiting.shift()!.grant();
    }
    if (this.waiting.length > 0) {
      if (!this.short) {
        this.short = true;
        this.log.warn(
          { waiting: this.waiting.length, perMinute: this.opts.perMinute },
          'REST request budget used up; requests wait their turn, backfill first',
        );
      }
      if (!this.timer)
        this.timer = setTimeout(
          () => {
            this.timer = null;
            this.drain();
          },
          msUntilToken(this.bucket, this.opts.perMinute),
        );
    } else if (this.short) {
      this.short = false;
      this.log.info('REST request budget has room again');
    }
  }
}
