import type { Logger, MarketPhase, Metrics } from '@vigil/service-kit';
import { fillGap, type RestFillDeps } from './fill-gap.js';

export interface OutagePollerDeps extends RestFillDeps {
  pollIntervalMs: number;
  /** Start polling once the stream has been down this long. */
  pollAfterMs: number;
  /** Local ms since the stream last delivered, or null while it is streaming. */
  downSince: () => number | null;
  marketPhase: () => MarketPhase;
  now?: () => number;
  logger: Logger;
  metrics: Metrics;
}

/** Whether to poll REST now: the stream is down long enough and the market is not known to be closed. */
export function shouldPoll(downSince: number | null, now: number, pollAfterMs: number, phase: MarketPhase): boolean {
  return downSince !== null && now - downSince >= pollAfterMs && phase !== 'closed';
}

/**
 * While the stream is down in market hours (a long 406 lock-out, say), poll REST once per interval (one
 * multi-symbol request per `maxSymbolsPerRequest` symbols), so bars keep flowing. At the default 15 s that is 4 of Alpaca's 200 requests/min.
 */
export class OutagePoller {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private polling = false;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly m;

  constructor(private readonly deps: OutagePollerDeps) {
    this.now = deps.now ?? Date.now;
    this.log = deps.logger.child({ component: 'poller' });
    this.m = {
      polls: deps.metrics.counter('gateway_outage_polls_total', 'REST polls during stream outages by outcome', [
        'outcome',
      ]),
      bars: deps.metrics.counter(
        'gateway_rest_bars_total',
        'Bars fetched from REST and offered for publishing, by source',
        ['source'],
      ),
    };
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.deps.pollIntervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  isPolling(): boolean {
    return this.polling;
  }

  async tick(): Promise<void> {
    const active = shouldPoll(this.deps.downSince(), this.now(), this.deps.pollAfterMs, this.deps.marketPhase());
    if (active !== this.polling) {
      this.log[active ? 'warn' : 'info'](
        active ? 'stream down in market hours; polling REST for bars' : 'stream back; polling stopped',
      );
      this.polling = active;
    }
    if (!active || this.busy) return;
    this.busy = true;
    try {
      await this.pollOnce();
    } catch (err) {
      this.m.polls.inc({ outcome: 'error' });
      this.log.warn({ err }, 'outage poll failed; next poll at the usual interval');
    } finally {
      this.busy = false;
    }
  }

  private async pollOnce(): Promise<void> {
    const result = await fillGap(this.deps, { source: 'poll', maxPages: 5 });
    this.m.polls.inc({ outcome: 'ok' });
    if (!result) return;
    this.m.bars.inc({ source: 'poll' }, result.offered);
    if (result.offered > 0) this.log.info({ bars: result.offered }, 'polled bars published during the outage');
  }
}
