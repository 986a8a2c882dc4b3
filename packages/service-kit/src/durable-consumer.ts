import { jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import { KeyedLanes } from './keyed-lanes.js';
import { retryDelay } from './retry.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { NatsConnection } from './nats.js';

/** What to do with a message once handled: acknowledge it, drop it for good, or have it redelivered later. */
export type Disposition = 'ack' | 'term' | { nakMs: number };

export interface DurableConsumerOptions {
  nc: NatsConnection;
  stream: string;
  durable: string;
  /**
   * Called once per delivery; a throw is logged, counted and the message redelivered with backoff. Messages of
   * one lane are handled one at a time, in order; different lanes run side by side.
   */
  handle: (msg: JsMsg) => Promise<Disposition>;
  /** The lane of a message (e.g. its symbol). Default: one lane, so every message waits for the one before. */
  lane?: (msg: JsMsg) => string;
  /** Messages handled or queued at once across lanes (default 1); keep it within the consumer's max_ack_pending. */
  maxInFlight?: number;
  logger: Logger;
  metrics: Metrics;
  /** Messages pulled per batch (default 50). */
  batch?: number;
  /** Backoff for redelivering after a throw and for re-attaching after the consumer fails (default 500 ms → 30 s). */
  retry?: BackoffPolicy;
  /** While a handler runs, tell the server it is still working this often, so `ack_wait` never expires (default 10 s). */
  workingEveryMs?: number;
  /**
   * Lifetime of each pull request (default 5 s). nats.js waits this long between attempts to re-pull after a
   * reconnect whose first attempt fails (JetStream still starting after a server restart), and misses two
   * idle heartbeats of half of it before re-pulling a lost request; with its default of 30 s a consumer
   * could sit idle that long after a NATS restart.
   */
  pullExpiresMs?: number;
}

export interface DurableConsumer {
  /** Stop pulling, let the messages in hand finish, then resolve. */
  stop(): Promise<void>;
}

/**
 * Pull from a durable JetStream consumer, acknowledging each message only after its handler finished, so a
 * restarted service resumes with every message it had not finished. Lanes (`lane`, `maxInFlight`) let messages
 * of different keys overlap their round trips; within a lane they stay in order. If the consumer or the
 * connection fails the loop re-attaches with backoff: it never ends silently until `stop()`.
 */
export function runDurableConsumer(opts: DurableConsumerOptions): DurableConsumer {
  const log = opts.logger.child({ component: 'consumer', durable: opts.durable });
  const retry = opts.retry ?? { initialMs: 500, maxMs: 30_000 };
  const handled = opts.metrics.counter(
    'consumer_messages_total',
    'Messages handled by a durable consumer, by disposition',
    ['durable', 'disposition'],
  );
  const failures = opts.metrics.counter('consumer_handler_errors_total', 'Handler errors (message redelivered)', [
    'durable',
  ]);
  const reattach = opts.metrics.counter('consumer_reattach_total', 'Times the consume loop had to re-attach', [
    'durable',
  ]);
  let stopped = false;
  let messages: ConsumerMessages | null = null;
  const aborted = new AbortController();
  const pause = (ms: number) => sleep(ms, undefined, { signal: aborted.signal }).catch(() => undefined);

  const lanes = new KeyedLanes(opts.maxInFlight ?? 1);
  const laneOf = opts.lane ?? (() => '');

  /** Started when the message is queued: time waiting behind its lane counts against ack_wait too. */
  const handleOne = async (msg: JsMsg, keepAlive: NodeJS.Timeout): Promise<void> => {
    let disposition: Disposition;
    try {
      disposition = await opts.handle(msg);
    } catch (err) {
      failures.inc({ durable: opts.durable });
      // Floored at the initial delay: an immediate redelivery would fail the same way.
      const nakMs = retryDelay({ policy: retry, floorMs: retry.initialMs }, msg.info.deliveryCount);
      log.error(
        { err, subject: msg.subject, seq: msg.seq, deliveryCount: msg.info.deliveryCount, nakMs },
        'handler failed; message will be redelivered',
      );
      disposition = { nakMs };
    } finally {
      clearInterval(keepAlive);
    }
    try {
      if (disposition === 'ack') await msg.ackAck();
      else if (disposition === 'term') msg.term();
      else msg.nak(disposition.nakMs);
    } catch (err) {
      log.warn({ err, seq: msg.seq, disposition }, 'acknowledgement not confirmed; the message may be redelivered');
    }
    handled.inc({ durable: opts.durable, disposition: typeof disposition === 'string' ? disposition : 'nak' });
  };

  const loop = async (): Promise<void> => {
    let attempt = 0;
    while (!stopped) {
      try {
        const consumer = await jetstream(opts.nc).consumers.get(opts.stream, opts.durable);
        messages = await consumer.consume({ max_messages: opts.batch ?? 50, expires: opts.pullExpiresMs ?? 5_000 });
        // stop() may have come while `consume()` was pending: it found no pull to stop, so this one must end here.
        if (stopped) {
          messages.stop();
          break;
        }
        if (attempt > 0) log.info('consumer re-attached');
        attempt = 0;
        for await (const msg of messages) {
          const keepAlive = setInterval(() => {
            // Best effort: on a closed connection the ack fails too, and that is logged.
            try {
              msg.working();
            } catch {}
          }, opts.workingEveryMs ?? 10_000);
          await lanes.push(laneOf(msg), () => handleOne(msg, keepAlive));
          if (stopped) break;
        }
      } catch (err) {
        if (stopped) break;
        const delay = backoffDelay(retry, attempt++);
        reattach.inc({ durable: opts.durable });
        log.warn({ err, delayMs: delay }, 'consumer failed; re-attaching');
        await pause(delay);
        continue;
      }
      if (!stopped) {
        reattach.inc({ durable: opts.durable });
        log.warn('consumer ended unexpectedly; re-attaching');
        await pause(backoffDelay(retry, attempt++));
      }
    }
  };
  const done = loop();

  return {
    stop: async () => {
      stopped = true;
      aborted.abort();
      messages?.stop();
      await done;
      await lanes.drain();
    },
  };
}
