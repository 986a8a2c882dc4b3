import { benchSetting } from '@vigil/service-kit/testing';

/** Everything the bench is tuned by, in one place, so the report can print exactly what was run. */

export const COMMAND = 'pnpm --filter @vigil/market-gateway bench';

/** One simulated minute per wall second: one bar per symbol a second, and ~390 faults' worth of session. */
export const MS_PER_MINUTE = 1000;

/** The targets are stated for these three; the rest are FAST's test timings scaled to them. */
export const GATEWAY_ENV: Record<string, string> = {
  PING_INTERVAL_MS: '1000',
  PONG_TIMEOUT_MS: '1000',
  STALE_AFTER_MS: '2000',
  HANDSHAKE_TIMEOUT_MS: '2000',
  AUTH_TIMEOUT_MS: '1000',
  SUBSCRIBE_TIMEOUT_MS: '1000',
  STABLE_AFTER_MS: '5000',
  BACKOFF_INITIAL_MS: '100',
  /**
   * Half a bar, as the default (30 s) is of a real minute. It sets how soon after a refusal clears the next
   * try comes (full jitter: anywhere up to it). At 1000 (a whole bar), refuse missed the next bar in 2 and 3
   * of 8 cycles in two runs on 2026-12-03.
   */
  BACKOFF_MAX_MS: '500',
  LIMIT_RETRY_MS: '500',
  AUTH_RETRY_MS: '3000',
  CONFIG_RETRY_MS: '3000',
  POLL_INTERVAL_MS: '1000',
  POLL_AFTER_MS: '1000',
  CLOCK_REFRESH_MS: '1000',
  HEARTBEAT_INTERVAL_MS: '1000',
  BACKFILL_MAX_LOOKBACK_MS: '1800000',
};

export const SIM = {
  /** Alpaca holds a vanished session ~90 s; scaled down so a drop's 406 lock-out fits a fault cycle. */
  zombieGraceMs: 1500,
  /** Alpaca answers a missing auth with 404 after 10 s; scaled likewise. */
  authTimeoutMs: 2000,
  /**
   * Server pings off: a blackhole models a frozen network path, and a server that reaps the frozen
   * session would close it from its side, a close a real frozen path would never deliver.
   */
  serverPingIntervalMs: 0,
  keys: { GWKEY: 'GWSECRET', SDKKEY: 'SDKSECRET' } as Record<string, string>,
};

export const GATEWAY_KEY = 'GWKEY';
export const SDK_KEY = 'SDKKEY';

/** Rounds over the 13 fault classes (8 → 104 faults). */
export const ROUNDS = benchSetting('BENCH_ROUNDS', 8);

export const CYCLE = {
  /** Longest wait, after a fault clears, for both consumers to deliver a live bar before moving on. */
  recoverCapMs: 6000,
  /** Quiet gap between one cycle's recovery and the next injection. */
  gapMs: 100,
  /** Stop injecting this many simulated minutes before the 16:00 close (a closed market raises no alarms). */
  stopBeforeCloseMinutes: 5,
};

export const BURST = { bars: 10_000, perFrame: 1000, reps: benchSetting('BENCH_BURST_REPS', 5) };
