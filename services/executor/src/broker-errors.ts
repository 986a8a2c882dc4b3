import { ApiError, FetchError } from '@alpacahq/alpaca-trade-api';

/** How a failed broker call should be treated. */
export type BrokerFailure =
  | { kind: 'rate_limited'; status: 429; retryAfterMs: number | null; message: string }
  | { kind: 'transient'; status: number | null; message: string }
  | { kind: 'duplicate'; status: number; message: string }
  | { kind: 'not_found'; status: 404; message: string }
  | { kind: 'rejected'; status: number; message: string };

/** A broker call that failed for good (rejected) or after its retries ran out. */
export class BrokerError extends Error {
  override name = 'BrokerError';
  constructor(
    readonly call: string,
    readonly failure: BrokerFailure,
    options?: ErrorOptions,
  ) {
    super(
      `${call} failed: ${failure.kind}${failure.status ? ` (HTTP ${failure.status})` : ''}: ${failure.message}`,
      options,
    );
  }
}

/**
 * Thrown by the operation given to a broker call to stop it: the request is no longer wanted (an order
 * whose signal went stale while the call waited out a 429, say). Never retried, never classified.
 */
export class CallAbandoned extends Error {
  override name = 'CallAbandoned';
}

/**
 * Classify an SDK error. 429 and 5xx/408/network errors are worth retrying; Alpaca's 422 "client_order_id
 * must be unique" means our order already exists; any other 4xx is the broker refusing the request.
 */
export function classifyBrokerError(err: unknown): BrokerFailure {
  if (err instanceof ApiError) {
    const message = err.message || `HTTP ${err.status}`;
    if (err.status === 429)
      return { kind: 'rate_limited', status: 429, retryAfterMs: err.retryAfterMs ?? null, message };
    if (err.status >= 500 || err.status === 408) return { kind: 'transient', status: err.status, message };
    if (err.status === 404) return { kind: 'not_found', status: 404, message };
    if (err.status === 422 && /client_order_id/i.test(message) && /unique|exist|duplicate/i.test(message)) {
      return { kind: 'duplicate', status: err.status, message };
    }
    return { kind: 'rejected', status: err.status, message };
  }
  if (err instanceof FetchError)
    return { kind: 'transient', status: null, message: err.cause?.message || err.message || 'network error' };
  return { kind: 'transient', status: null, message: err instanceof Error ? err.message : String(err) };
}
