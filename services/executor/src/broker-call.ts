import { backoffDelay, type BackoffPolicy, type Logger, type Metrics } from '@vigil/service-kit';
import { setTimeout as sleep } from 'node:timers/promises';
import { BrokerError, CallAbandoned, classifyBrokerError } from './broker-errors.js';

export interface BrokerCallOptions {
  policy: BackoffPolicy;
  maxAttempts: number;
  logger: Logger;
  metrics: Metrics;
  sleep?: (ms: number) => Promise<unknown>;
  random?: () => number;
}

export type BrokerCall = <T>(call: string, op: () => Promise<T>) => Promise<T>;

/**
 * Wrap broker calls: 429 waits at least the broker's Retry-After, 5xx and network errors back off and try
 * again, up to `maxAttempts` in all. Every retry and every give-up is logged once and counted; anything
 * not worth retrying (rejected, duplicate, not found) is thrown at once as a `BrokerError`; a `CallAbandoned`
 * thrown by the operation itself passes straight through, untried again.
 *
 * Only use this for requests that are safe to repeat: reads, cancels and closes, and POST /v2/orders
 * *with* a client_order_id (a repeat of an order the broker already took comes back as a duplicate).
 */
export function brokerCaller(opts: BrokerCallOptions): BrokerCall {
  const log = opts.logger.child({ component: 'broker' });
  const retries = opts.metrics.counter('broker_retries_total', 'Broker calls retried, by call and failure kind', ['call', 'kind']);
  const giveUps = opts.metrics.counter('broker_failures_total', 'Broker calls that failed for good, by call and failure kind', ['call', 'kind']);
  const wait = opts.sleep ?? ((ms: number) => sleep(ms));
  return async (call, op) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        if (err instanceof CallAbandoned) throw err;
        const failure = classifyBrokerError(err);
        const retryable = failure.kind === 'rate_limited' || failure.kind === 'transient';
        if (!retryable || attempt + 1 >= opts.maxAttempts) {
          giveUps.inc({ call, kind: failure.kind });
          if (retryable) log.error({ call, failure, attempts: attempt + 1 }, `${call}: giving up after ${attempt + 1} attempts`);
          throw new BrokerError(call, failure, { cause: err });
        }
        const backoff = Math.max(opts.policy.initialMs, backoffDelay(opts.policy, attempt, opts.random));
        const delayMs = failure.kind === 'rate_limited' && failure.retryAfterMs !== null ? Math.max(failure.retryAfterMs, backoff) : backoff;
        retries.inc({ call, kind: failure.kind });
        log.warn({ call, failure, attempt: attempt + 1, delayMs }, `${call}: ${failure.kind}; retrying`);
        await wait(delayMs);
      }
    }
  };
}
