/** What a probe returns while the condition does not hold yet. */
export type Falsy = false | 0 | '' | null | undefined;

export interface WaitForOptions {
  /** Give up after this long (default 15 s). */
  timeoutMs?: number;
  /** Pause between probes (default 25 ms). */
  intervalMs?: number;
}

/** `waitFor` gave up: says what it waited for and for how long. */
export class WaitForTimeoutError extends Error {
  override readonly name = 'WaitForTimeoutError';
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

/**
 * Probe until `probe` returns something truthy, and return that. For state that settles asynchronously
 * (a message arriving, a process starting). Throws `WaitForTimeoutError` naming `what` once `timeoutMs`
 * has passed; an error thrown by `probe` propagates at once. A probe still running at the deadline is not
 * cut short, so keep probes quick.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Falsy | Promise<T | Falsy>,
  opts: WaitForOptions = {},
): Promise<Exclude<T, Falsy>> {
  const { timeoutMs = 15_000, intervalMs = 25 } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as Exclude<T, Falsy>;
    if (Date.now() >= deadline) throw new WaitForTimeoutError(what, timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}
