import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { ConsumerConfig, StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { isConsumerNotFound, isStreamNotFound } from './nats-errors.js';
import { subjects } from './subjects.js';

const DAY_MS = 86_400_000;

export type StreamDefinition = Partial<StreamConfig> & Pick<StreamConfig, 'name' | 'subjects'>;
export type ConsumerDefinition = Partial<ConsumerConfig> & { stream: string; durable_name: string };

/**
 * A file-backed stream that keeps messages for `maxAgeDays`, dropping the oldest past its limits. Nobody may
 * purge it or delete a message from it through the API (`deny_purge`, `deny_delete`; only age and limits remove
 * data). nats-server lets an update turn both on for a stream created without them, never off again.
 */
function fileStream(name: string, subject: string, maxAgeDays: number, duplicateWindowMs?: number): StreamDefinition {
  return {
    name,
    subjects: [subject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(maxAgeDays * DAY_MS),
    ...(duplicateWindowMs ? { duplicate_window: nanos(duplicateWindowMs) } : {}),
    deny_delete: true,
    deny_purge: true,
  };
}

/**
 * The streams as data. The BARS and SIGNALS duplicate windows are a full day: a bar republished by a
 * backfill, a poll during an outage or a restarted gateway (or a signal republished after a strategy
 * restart) is dropped by the server however late it comes.
 */
export const streams = {
  bars: fileStream('BARS', subjects.barsAll, 14, DAY_MS),
  signals: fileStream('SIGNALS', subjects.signalsAll, 30, DAY_MS),
  orders: fileStream('ORDERS', subjects.ordersAll, 90),
  alerts: fileStream('ALERTS', subjects.alertsAll, 30),
} as const;

/**
 * The one service (NATS user) that creates and updates each stream (`ensureStreams`); every other user may only
 * read it, and waits for it at start (`awaitStreams`). infra/nats/auth.conf grants the same.
 */
export const streamOwners = {
  [streams.bars.name]: 'market-gateway',
  [streams.signals.name]: 'strategy',
  [streams.orders.name]: 'executor',
  [streams.alerts.name]: 'watchdog',
} as const satisfies Record<string, string>;

/** Durable consumers: a restarted service resumes exactly where it acknowledged last. */
export const consumers = {
  strategyBars: {
    stream: streams.bars.name,
    durable_name: 'strategy',
    filter_subject: subjects.bars1mAll,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
    max_ack_pending: 1000,
  },
  executorSignals: {
    stream: streams.signals.name,
    durable_name: 'executor',
    filter_subject: subjects.signalsAll,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
    max_ack_pending: 100,
  },
} as const satisfies Record<string, ConsumerDefinition>;

/** KV buckets as data. */
export interface KvBucketDefinition {
  name: string;
  history: number;
}

export const kvBuckets = {
  executorState: { name: 'executor_state', history: 5 },
  /** Per-symbol indicator state of the strategy, with the last bar it has seen, so a restart neither loses nor double-counts. */
  strategyState: { name: 'strategy_state', history: 1 },
  /** The watchdog's open stale-data incident and executor halt, so a restart of the watchdog or of NATS loses neither. */
  watchdogState: { name: 'watchdog_state', history: 5 },
  /** The market-gateway lease (`GatewayLease` under key `leader`): its holder streams, the others stand by. Its
   * entries age out `LEASE_TTL_MS` after the holder's last renewal (the bucket's TTL). */
  gatewayLeader: { name: 'gateway_leader', history: 1 },
} as const satisfies Record<string, KvBucketDefinition>;

/**
 * How many servers keep a copy of each stream and KV bucket (JS_REPLICAS): 1 on a single nats-server, 3 in a
 * three-node cluster, so that losing one node loses nothing. Odd, so that a majority survives a split.
 */
export const MAX_REPLICAS = 5;

function checkReplicas(replicas: number): number {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS)
    throw new RangeError(
      `replicas must be a whole number from 1 to ${MAX_REPLICAS} (got ${replicas}); set JS_REPLICAS`,
    );
  return replicas;
}

/** A stream's definition with `replicas` copies of its data. */
export function withReplicas(def: StreamDefinition, replicas: number): StreamDefinition {
  return { ...def, num_replicas: checkReplicas(replicas) };
}

/** What `new Kvm(nc).create(bucket.name, ...)` takes for one of `kvBuckets`, with `replicas` copies. */
export function kvBucketOptions(bucket: KvBucketDefinition, replicas: number): { history: number; replicas: number } {
  return { history: bucket.history, replicas: checkReplicas(replicas) };
}

export interface EnsureStreamsOptions {
  /** Copies of each stream (JS_REPLICAS), default 1. An update changes an existing stream's count too. */
  replicas?: number;
}

/**
 * Create or update streams so that they match their definitions. Safe to call on every start. Only a
 * stream's owner (`streamOwners`) calls it: the others' NATS users may not create or update it.
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  defs: readonly StreamDefinition[] = Object.values(streams),
  opts: EnsureStreamsOptions = {},
): Promise<void> {
  for (const base of defs) {
    const def = withReplicas(base, opts.replicas ?? 1);
    const existing = await jsm.streams.info(def.name).catch((err: unknown) => {
      if (isStreamNotFound(err)) return null;
      throw err;
    });
    if (existing) await jsm.streams.update(def.name, def);
    else await jsm.streams.add(def);
  }
}

/** Where `awaitStreams` says that it is waiting (a pino logger fits). */
export interface StreamWaitLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AwaitStreamsOptions {
  log?: StreamWaitLog;
  /** How often to look again, default 1 s. */
  intervalMs?: number;
  /** Repeat the warning this often while still waiting, default 30 s. */
  remindEveryMs?: number;
  /** Stop waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Wait until each stream exists, for a service that reads a stream another service owns (and creates at its
 * start): it may only look (`$JS.API.STREAM.INFO`), never create or update it. Says once which stream it
 * waits for and whose it is, again every `remindEveryMs`, and when it is there. Errors other than "not found"
 * (no JetStream, no permission) are thrown, as `ensureStreams` does.
 */
export async function awaitStreams(
  jsm: JetStreamManager,
  defs: readonly StreamDefinition[],
  opts: AwaitStreamsOptions = {},
): Promise<void> {
  const intervalMs = opts.intervalMs ?? 1_000;
  const remindEveryMs = opts.remindEveryMs ?? 30_000;
  for (const def of defs) {
    const owner = (streamOwners as Record<string, string>)[def.name] ?? 'its owner';
    const started = Date.now();
    let warned = false;
    let remindAt = started;
    for (;;) {
      opts.signal?.throwIfAborted();
      const exists = await jsm.streams.info(def.name).then(
        () => true,
        (err: unknown) => {
          if (isStreamNotFound(err)) return false;
          throw err;
        },
      );
      if (exists) {
        if (warned)
          opts.log?.info({ stream: def.name, owner, waitedMs: Date.now() - started }, `stream ${def.name} is there`);
        break;
      }
      if (Date.now() >= remindAt) {
        opts.log?.warn(
          { stream: def.name, owner, waitedMs: Date.now() - started },
          `waiting for stream ${def.name}: ${owner} creates it at its start`,
        );
        warned = true;
        remindAt = Date.now() + remindEveryMs;
      }
      await abortableSleep(intervalMs, opts.signal);
    }
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Create or update durable consumers; their streams must exist. */
export async function ensureConsumers(jsm: JetStreamManager, defs: readonly ConsumerDefinition[]): Promise<void> {
  for (const { stream, ...config } of defs) {
    const existing = await jsm.consumers.info(stream, config.durable_name).catch((err: unknown) => {
      if (isConsumerNotFound(err)) return null;
      throw err;
    });
    if (existing) await jsm.consumers.update(stream, config.durable_name, config);
    else await jsm.consumers.add(stream, config);
  }
}
