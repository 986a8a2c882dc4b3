import { backoffDelay, type BackoffPolicy } from './backoff.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** What one retry looks like, to the log line, the metric and the `onRetry` hook. */
export interface RetryInfo {
  /** The error the failed attempt threw. */
  err: unknown;
  /** The attempt that just failed, counted from 1 (the first call is attempt 1). */
  attempt: number;
  /** How long retry() waits before attempt `attempt + 1`. */
  delayMs: number;
}

export interface RetryOptions {
  /** Names the operation: in the default log line and as the `operation` label of `retries_total`. */
  label: string;
  /** Exponential backoff with full jitter (see `backoffDelay`), attempt 1's wait drawn from [0, initialMs]. */
  policy: BackoffPolicy;
  /** Attempts in all, counted from 1 and including the first call; `Infinity` (the default) never gives up. */
  maxAttempts?: number;
  /**
   * The least wait between attempts. Full jitter can draw 0 ms, and a zero wait against a dependency that
   * is down turns the loop into a busy spin that hammers it and floods the log; a floor (typically the
   * policy's initialMs) guarantees a pause. Default 0: pure full jitter.
   */
  floorMs?: number;
  /** Is this failure worth another attempt? Anything it says no to is thrown at once. Default: everything is. */
  shouldRetry?: (err: unknown, attempt: number) => boolean;
  /**
   * The server's own "retry after" for this error (e.g. HTTP 429 Retry-After), in ms, or null/undefined if
   * it gave none. When given, the wait is at least this long, whatever the backoff drew.
   */
  retryAfterMs?: (err: unknown) => number | null | undefined;
  /** Aborting stops the loop promptly, also mid-wait: retry() rejects with `RetryAborted`. */
  signal?: AbortSignal;
  /** Logs each retry once (reason = the error, and the delay). Omit to log nothing. */
  logger?: Logger;
  /** The retry log line's message; default `${label}: retrying`. */
  message?: string | ((info: RetryInfo) => string);
  /** The retry log line's level; default 'warn'. */
  level?: 'warn' | 'error';
  /** The retry log line's fields; default `{ err, attempt, delayMs }`. */
  fields?: (info: RetryInfo) => Record<string, unknown>;
  /** Counts each retry in `retries_total{operation=label}`. */
  metrics?: Metrics;
  /** Called once per retry, after logging and before the wait (readiness flags, caller-specific counters). */
  onRetry?: (info: RetryInfo) => void;
  /** For tests. */
  random?: () => number;
  /** For tests; must honour the signal to keep the wait cancellable. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
}

/** retry() was aborted through its signal, before or while waiting for the next attempt. */
export class RetryAborted extends Error {
  constructor(
    readonly label: string,
    /** Attempts made before the abort. */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`${label}: aborted after ${attempts} attempt${attempts === 1 ? '' : 's'}`, options);
    this.name = 'RetryAborted';
  }
}

/** The wait after failed attempt `attempt` (from 1): jittered backoff, at least the floor and any Retry-After. */
export function retryDelay(
  opts: Pick<RetryOptions, 'policy' | 'floorMs' | 'random'>,
  attempt: number,
  retryAfterMs?: number | null,
): number {
  const drawn = Math.max(opts.floorMs ?? 0, backoffDelay(opts.policy, attempt - 1, opts.random));
  return retryAfterMs != null ? Math.max(retryAfterMs, drawn) : drawn;
}

/**
 * Call `op` until it resolves, waiting between attempts with jittered exponential backoff. Gives up, by
 * rethrowing the last error as is, when `shouldRetry` says no or after `maxAttempts` attempts. `op` gets
 * the attempt number, from 1.
 */
export async function retry<T>(op: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const maxAttempts = opts.maxAttempts ?? Infinity;
  if (!(maxAttempts >= 1)) throw new RangeError(`${opts.label}: maxAttempts must be at least 1`);
  const wait = opts.sleep ?? cancellableSleep;
  const counter = opts.metrics?.counter('retries_total', 'Operations retried after a failure, by operation', [
    'operation',
  ]);
  const { signal } = opts;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw new RetryAborted(opts.label, attempt - 1, { cause: signal.reason });
    try {
      return await op(attempt);
    } catch (err) {
      if (signal?.aborted) throw new RetryAborted(opts.label, attempt, { cause: err });
      if (attempt >= maxAttempts || (opts.shouldRetry && !opts.shouldRetry(err, attempt))) throw err;
      const delayMs = retryDelay(opts, attempt, opts.retryAfterMs?.(err));
      const info: RetryInfo = { err, attempt, delayMs };
      if (opts.logger) {
        const message =
          typeof opts.message === 'function' ? opts.message(info) : (opts.message ?? `${opts.label}: retrying`);
        opts.logger[opts.level ?? 'warn'](opts.fields ? opts.fields(info) : { err, attempt, delayMs }, message);
      }
      counter?.inc({ operation: opts.label });
      opts.onRetry?.(info);
      try {
        await wait(delayMs, signal);
      } catch (sleepErr) {
        if (signal?.aborted) throw new RetryAborted(opts.label, attempt, { cause: err });
        throw sleepErr;
      }
    }
  }
}

/** setTimeout as a promise that rejects as soon as `signal` aborts (the global timer, so fake timers drive it). */
function cancellableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
