import { SinkError } from './sinks.js';

/** A server's Retry-After beyond this is not waited for: a bogus header must not stall a sink's queue. */
const RETRY_AFTER_MAX_MS = 60_000;

/** Retry-After (seconds or an HTTP date) in ms from `nowMs`, capped; null when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | null {
  if (!header) return null;
  const value = header.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - nowMs;
  return Number.isNaN(ms) ? null : Math.min(Math.max(ms, 0), RETRY_AFTER_MAX_MS);
}

/**
 * What an HTTP answer means for a delivery: 2xx delivered (null); 408, 429 and 5xx worth another attempt
 * (honouring Retry-After); any other 4xx permanent, since the same request will be refused again.
 */
export function httpFailure(sink: string, status: number, retryAfter: number | null): SinkError | null {
  if (status >= 200 && status < 300) return null;
  const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
  return new SinkError(
    permanent
      ? `${sink} refused the alert with HTTP ${status}; not retried: check its URL, key and the payload it expects`
      : `${sink} answered HTTP ${status}`,
    { status, retryAfterMs: retryAfter, permanent },
  );
}

/**
 * POSTs `body` as JSON to `url`, within `timeoutMs`. `url` is a secret (a webhook URL is its own credential):
 * errors name the sink and the failure, never the address.
 */
export async function postJson(
  sink: string,
  url: string,
  body: unknown,
  timeoutMs: number,
  signal: AbortSignal,
  now: () => number = Date.now,
): Promise<void> {
  // A plain timer, not AbortSignal.any/timeout: on Node 20 a combined signal can be collected before it fires.
  const abort = new AbortController();
  const onStop = () => abort.abort();
  signal.addEventListener('abort', onStop);
  const timer = setTimeout(
    () => abort.abort(new SinkError(`${sink} did not answer within ${timeoutMs} ms`)),
    timeoutMs,
  );
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: abort.signal,
    });
    await res.body?.cancel();
  } catch (cause) {
    const why = (cause as Error & { cause?: { code?: string } }).cause?.code ?? (cause as Error).message;
    throw new SinkError(`${sink} request failed (${why})`, { cause });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onStop);
  }
  const failure = httpFailure(sink, res.status, retryAfterMs(res.headers.get('retry-after'), now()));
  if (failure) throw failure;
}
