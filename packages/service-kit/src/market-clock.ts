import { estimateRate, marketPhase, projectBrokerTime, type ClockSample, type MarketPhase } from './broker-time.js';
import { envInt } from './config.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** The slice of the SDK's `ClockApi` we use (`GET /v2/clock`). */
export interface ClockSource {
  legacyClock(): Promise<{ timestamp: Date; isOpen: boolean; nextOpen: Date; nextClose: Date }>;
}

export interface MarketClockOptions {
  source: ClockSource;
  refreshMs: number;
  logger: Logger;
  metrics: Metrics;
  /** Local time; injected so tests can fake it. */
  now?: () => number;
  /** How old the last good reading may get before the phase is `unknown` (default 4 refreshes). */
  maxSampleAgeMs?: number;
}

/** The broker clock's one setting, in every service that reads the clock. */
export const clockConfig = {
  /** How often `GET /v2/clock` is read; in between, broker time is projected at the rate the reads measured. */
  CLOCK_REFRESH_MS: envInt(15_000, { min: 50 }),
};

export interface StartMarketClockOptions extends Omit<MarketClockOptions, 'refreshMs'> {
  config: { CLOCK_REFRESH_MS: number };
}

/** The one way a service starts the broker clock: built from its config and read before it returns. */
export async function startMarketClock(opts: StartMarketClockOptions): Promise<MarketClock> {
  const { config, ...rest } = opts;
  const clock = new MarketClock({ ...rest, refreshMs: config.CLOCK_REFRESH_MS });
  await clock.start();
  return clock;
}

/**
 * The market's phase and the broker's time, from the broker's own clock endpoint, refreshed on a timer.
 * Every phase change and every run of failed reads is logged once and counted.
 */
export class MarketClock {
  private sample: ClockSample | null = null;
  private rate = 1;
  private timer: NodeJS.Timeout | null = null;
  private lastPhase: MarketPhase = 'unknown';
  private failing = false;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly listeners = new Set<(phase: MarketPhase) => void>();
  private readonly failures;
  private readonly transitions;

  constructor(private readonly opts: MarketClockOptions) {
    this.now = opts.now ?? Date.now;
    this.log = opts.logger.child({ component: 'market-clock' });
    this.failures = opts.metrics.counter('clock_refresh_failures_total', 'Failed reads of the broker clock endpoint');
    this.transitions = opts.metrics.counter('market_phase_changes_total', 'Market phase changes seen', ['phase']);
    const phaseValue = () => ({ open: 1, closed: 0, unknown: -1 })[this.phase()];
    opts.metrics.gauge('market_open', '1 while the market is open, 0 closed, -1 unknown', [], function () {
      this.set(phaseValue());
    });
  }

  async start(): Promise<void> {
    await this.refresh();
    // A second early read measures the clock's speed, so broker time is right from the start.
    await new Promise((r) => setTimeout(r, 250));
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Called with the new phase whenever it changes (checked on every read of `phase()` and every refresh). */
  onChange(listener: (phase: MarketPhase) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  phase(): MarketPhase {
    const local = this.now();
    const phase = this.sample
      ? marketPhase(
          this.sample,
          projectBrokerTime(this.sample, this.rate, local),
          local,
          this.opts.maxSampleAgeMs ?? this.opts.refreshMs * 4,
        )
      : 'unknown';
    if (phase !== this.lastPhase) {
      this.log.info({ from: this.lastPhase, to: phase }, `market ${phase}`);
      this.transitions.inc({ phase });
      this.lastPhase = phase;
      for (const l of this.listeners) l(phase);
    }
    return phase;
  }

  /** Broker time in epoch ms, or null before the first successful read. */
  brokerNow(): number | null {
    return this.sample ? projectBrokerTime(this.sample, this.rate, this.now()) : null;
  }

  /**
   * The broker's `next_close` (epoch ms) from the last good reading, or null before the first. While the
   * market is open it is the close of the session under way; while closed, that of the next session.
   */
  nextCloseMs(): number | null {
    return this.sample ? this.sample.nextCloseMs : null;
  }

  /** Broker clock speed relative to ours (1 for Alpaca). */
  clockRate(): number {
    return this.rate;
  }

  async refresh(): Promise<void> {
    const sentAt = this.now();
    try {
      const c = await this.opts.source.legacyClock();
      const receivedAt = this.now();
      // Stamp the reading at the middle of the round trip.
      const next: ClockSample = {
        localMs: (sentAt + receivedAt) / 2,
        brokerMs: c.timestamp.getTime(),
        isOpen: c.isOpen,
        nextOpenMs: c.nextOpen.getTime(),
        nextCloseMs: c.nextClose.getTime(),
      };
      if ([next.brokerMs, next.nextOpenMs, next.nextCloseMs].some((v) => !Number.isFinite(v))) {
        throw new Error('clock response has an invalid timestamp');
      }
      this.rate = estimateRate(this.sample, next, this.rate);
      this.sample = next;
      if (this.failing) this.log.info('broker clock readable again');
      this.failing = false;
    } catch (err) {
      this.failures.inc();
      if (!this.failing)
        this.log.warn({ err }, 'cannot read the broker clock; keeping the last reading until it ages out');
      this.failing = true;
    }
    this.phase();
  }
}
