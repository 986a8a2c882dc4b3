import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import type { ConsumerConfig, StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { subjects } from './subjects.js';

const DAY_MS = 86_400_000;

export type StreamDefinition = Partial<StreamConfig> & Pick<StreamConfig, 'name' | 'subjects'>;
export type ConsumerDefinition = Partial<ConsumerConfig> & { stream: string; durable_name: string };

/** A file-backed stream that keeps messages for `maxAgeDays`, dropping the oldest past its limits. */
function fileStream(name: string, subject: string, maxAgeDays: number, duplicateWindowMs?: number): StreamDefinition {
  return {
    name,
    subjects: [subject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(maxAgeDays * DAY_MS),
    ...(duplicateWindowMs ? { duplicate_window: nanos(duplicateWindowMs) } : {}),
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
export const kvBuckets = {
  executorState: { name: 'executor_state', history: 5 },
  /** Per-symbol indicator state of the strategy, with the last bar it has seen, so a restart neither loses nor double-counts. */
  strategyState: { name: 'strategy_state', history: 1 },
  /** The watchdog's open stale-data incident and executor halt, so a restart of the watchdog or of NATS loses neither. */
  watchdogState: { name: 'watchdog_state', history: 5 },
} as const;

/** Create or update streams so that they match their definitions. Safe to call on every start. */
export async function ensureStreams(jsm: JetStreamManager, defs: readonly StreamDefinition[] = Object.values(streams)): Promise<void> {
  for (const def of defs) {
    const existing = await jsm.streams.info(def.name).catch((err: unknown) => {
      if (isNotFound(err)) return null;
      throw err;
    });
    if (existing) await jsm.streams.update(def.name, def);
    else await jsm.streams.add(def);
  }
}

/** Create or update durable consumers; their streams must exist. */
export async function ensureConsumers(jsm: JetStreamManager, defs: readonly ConsumerDefinition[]): Promise<void> {
  for (const { stream, ...config } of defs) {
    const existing = await jsm.consumers.info(stream, config.durable_name).catch((err: unknown) => {
      if (isNotFound(err)) return null;
      throw err;
    });
    if (existing) await jsm.consumers.update(stream, config.durable_name, config);
    else await jsm.consumers.add(stream, config);
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && /not found/i.test(err.message);
}
