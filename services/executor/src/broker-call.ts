import { retry, type BackoffPolicy, type Logger, type Metrics } from '@vigil/service-kit';
import { setTimeout as sleep } from 'node:timers/promises';
import { BrokerError, CallAbandoned, classifyBrokerError, type BrokerFailure } from './broker-errors.js';

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
  const retries = opts.metrics.counter(
    'executor_broker_retries_total',
    'Broker calls retried, by call and failure kind',
    ['call', 'kind'],
  );
  const giveUps = opts.metrics.counter(
    'executor_broker_failures_total',
    'Broker calls that failed for good, by call and failure kind',
    ['call', 'kind'],
  );
  const wait = opts.sleep ?? ((ms: number) => sleep(ms));
  const retryable = (failure: BrokerFailure) => failure.kind === 'rate_limited' || failure.kind === 'transient';
  return async (call, op) => {
    let attempts = 0;
    try {
      return await retry(
        (attempt) => {
          attempts = attempt;
          return op();
        },
        {
          label: call,
          policy: opts.policy,
          maxAttempts: opts.maxAttempts,
          // At least the initial delay: a 5xx storm retried at once (full jitter can draw 0) only deepens it.
          floorMs: opts.policy.initialMs,
          shouldRetry: (err) => !(err instanceof CallAbandoned) && retryable(classifyBrokerError(err)),
          retryAfterMs: (err) => {
            const failure = classifyBrokerError(err);
            return failure.kind === 'rate_limited' ? failure.retryAfterMs : null;
          },
          logger: log,
          message: ({ err }) => `${call}: ${classifyBrokerError(err).kind}; retrying`,
          fields: ({ err, attempt, delayMs }) => ({ call, failure: classifyBrokerError(err), attempt, delayMs }),
          onRetry: ({ err }) => retries.inc({ call, kind: classifyBrokerError(err).kind }),
          random: opts.random,
          sleep: (ms) => wait(ms),
        },
      );
    } catch (err) {
      if (err instanceof CallAbandoned) throw err;
      const failure = classifyBrokerError(err);
      giveUps.inc({ call, kind: failure.kind });
      if (retryable(failure)) log.error({ call, failure, attempts }, `${call}: giving up after ${attempts} attempts`);
      throw new BrokerError(call, failure, { cause: err });
    }
  };
}
