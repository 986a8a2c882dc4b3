export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * a uniform delay in [0, min(max, initial * 2^attempt)]. Full jitter spreads a fleet of clients that
 * all lost the same server, so they do not reconnect in lock-step. `attempt` counts from 0.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(random() * ceiling);
}

/** The ceiling alone, for logs and for callers that want a floor (e.g. "at least the initial delay"). */
export function backoffCeiling(policy: BackoffPolicy, attempt: number): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
}
