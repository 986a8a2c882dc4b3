import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { kvBucketOptions, kvBuckets } from '@vigil/contracts';
import { KvJsonStore, KvValueInvalid, retry, type Logger, type Metrics } from '@vigil/service-kit';
import * as z from 'zod';
import type { PersistedState } from './rules.js';
import type { WatchedState } from './service-watch.js';

const KEY = 'watchdog';
const step = z.enum(['none', 'pending', 'done', 'failed']);
const command = z.enum(['reconnect', 'halt', 'flatten', 'resume']);

const escalation = {
  id: z.string().min(1),
  halt: step,
  haltRetryAt: z.number(),
  flatten: step,
  failedAlerted: z.array(command),
};

/** The stored form of `PersistedState`, validated on read: a corrupt entry is logged and ignored, not trusted. */
const Snapshot = z.strictObject({
  v: z.literal(1),
  savedAt: z.iso.datetime(),
  lastFreshAt: z.number(),
  executorHalted: z.boolean(),
  // Absent in what an older watchdog stored.
  haltIncidentId: z.string().nullable().default(null),
  flattenedWhileHalted: z.boolean().default(false),
  incident: z
    .strictObject({
      id: z.string().min(1),
      staleSince: z.number(),
      openedAt: z.number(),
      reconnectsSent: z.int().nonnegative(),
      reconnectFailures: z.int().nonnegative(),
      nextReconnectAt: z.number(),
      halt: step,
      haltRetryAt: z.number(),
      flatten: step,
      freshSince: z.number().nullable(),
      pausedMs: z.number().nonnegative().default(0),
      pausedAt: z.number().nullable().default(null),
      failedAlerted: z.array(command),
    })
    .nullable(),
  // Absent in what an older watchdog stored.
  degraded: z
    .strictObject({ ...escalation, since: z.number(), openedAt: z.number(), critical: z.boolean() })
    .nullable()
    .default(null),
  unmanaged: z
    .strictObject({ ...escalation, openedAt: z.number(), symbols: z.array(z.string()) })
    .nullable()
    .default(null),
  // Open service_down and consumer_lag incidents (service-watch.ts); absent in what an older watchdog stored.
  watched: z
    .strictObject({
      services: z.record(
        z.string(),
        z.strictObject({ id: z.string().min(1), since: z.number(), critical: z.boolean() }),
      ),
      lags: z.record(
        z.string(),
        z.strictObject({ id: z.string().min(1), openedAt: z.number(), critical: z.boolean() }),
      ),
    })
    .default({ services: {}, lags: {} }),
});

/**
 * Keeps the open incident and the executor's halt in a JetStream KV bucket, so a restarted watchdog
 * carries on the same incident (no second no_bar page, no second flatten) and still sends the resume.
 * Writes are coalesced: at most one in flight, the newest state wins. A bucket that cannot be bound yet
 * (JetStream still starting) is bound again on the next write, so memory comes back once JetStream does.
 */
export class IncidentStore {
  private kv: KV | null = null;
  private saving: Promise<void> | null = null;
  private next: (PersistedState & { watched: WatchedState }) | null = null;
  /** The rules' state and the service watch's are written together, each as last handed over. */
  private current: PersistedState | null = null;
  private watched: WatchedState = { services: {}, lags: {} };
  private lastSaved = '';
  private readonly log: Logger;
  private readonly failures;

  constructor(
    private readonly nc: NatsConnection,
    logger: Logger,
    metrics: Metrics,
    private readonly opts: {
      /** Copies of the bucket (JS_REPLICAS), default 1. */
      replicas?: number;
      /** Reads at start: tries and the pause between them, so a NATS server still starting is waited for. */
      readRetry?: { attempts: number; delayMs: number };
    } = {},
  ) {
    this.log = logger.child({ component: 'incident-store' });
    this.failures = metrics.counter(
      'watchdog_state_store_failures_total',
      'Failed reads or writes of the watchdog state bucket',
      ['op'],
    );
  }

  private async bucket(): Promise<KvJsonStore<typeof Snapshot>> {
    const bucket = kvBuckets.watchdogState;
    this.kv ??= await new Kvm(this.nc).create(bucket.name, kvBucketOptions(bucket, this.opts.replicas ?? 1));
    return new KvJsonStore(this.kv, Snapshot);
  }

  /**
   * The stored state, or null when there is none. A read that keeps failing is retried first: starting fresh
   * would overwrite an open incident with the next write, and that is said loudly when it must happen.
   */
  async load(): Promise<(PersistedState & { savedAt: number; watched: WatchedState }) | null> {
    const { attempts, delayMs } = this.opts.readRetry ?? { attempts: 5, delayMs: 1_000 };
    let tried = 0;
    try {
      // Opening the bucket and reading it are retried together: a NATS server still starting fails either.
      return await retry(
        async (attempt) => {
          tried = attempt;
          try {
            return await this.read(await this.bucket());
          } catch (err) {
            this.failures.inc({ op: 'read' });
            throw err;
          }
        },
        {
          label: 'watchdog state read',
          // A fixed pause (floor = max = delayMs), not backoff: a handful of tries across a KV restart.
          policy: { initialMs: delayMs, maxMs: delayMs },
          floorMs: delayMs,
          maxAttempts: attempts,
          logger: this.log,
          message: 'cannot read the stored watchdog state yet; retrying',
          fields: ({ err, attempt }) => ({ err, attempt, retryInMs: delayMs }),
        },
      );
    } catch (err) {
      this.log.error(
        { err, attempts: tried },
        'cannot read the stored watchdog state; starting fresh, and the next write replaces whatever incident was stored',
      );
      return null;
    }
  }

  private async read(
    snapshots: KvJsonStore<typeof Snapshot>,
  ): Promise<(PersistedState & { savedAt: number; watched: WatchedState }) | null> {
    let stored: z.output<typeof Snapshot> | null;
    try {
      stored = await snapshots.get(KEY);
    } catch (err) {
      // Only JSON that is not a snapshot is given up on at once; a value that is not JSON at all goes the way
      // of a failed read (retried, then started fresh).
      if (!(err instanceof KvValueInvalid) || err.problem !== 'schema') throw err;
      this.failures.inc({ op: 'decode' });
      this.log.error({ issues: err.detail }, 'stored watchdog state is invalid; starting fresh');
      return null;
    }
    if (!stored) return null;
    const { lastFreshAt, incident, executorHalted, haltIncidentId, flattenedWhileHalted, degraded, unmanaged } = stored;
    const state: PersistedState = {
      lastFreshAt,
      incident,
      executorHalted,
      haltIncidentId,
      flattenedWhileHalted,
      degraded,
      unmanaged,
    };
    this.watched = stored.watched;
    this.lastSaved = JSON.stringify({ ...state, watched: this.watched });
    this.log.info(
      {
        incidentId: incident?.id ?? null,
        degradedId: degraded?.id ?? null,
        unmanagedId: unmanaged?.id ?? null,
        executorHalted,
        servicesDown: Object.keys(stored.watched.services),
        consumersLagging: Object.keys(stored.watched.lags),
        savedAt: stored.savedAt,
      },
      'recovered watchdog state',
    );
    return { ...state, watched: stored.watched, savedAt: Date.parse(stored.savedAt) };
  }

  /** Queue a write when the state changed; never throws, never blocks the caller. */
  save(state: PersistedState): void {
    this.current = state;
    this.queue();
  }

  /** The service watch's open incidents; written with the next state (at once if there is one). */
  saveWatched(watched: WatchedState): void {
    this.watched = watched;
    this.queue();
  }

  private queue(): void {
    if (!this.current) return;
    const full = { ...this.current, watched: this.watched };
    const text = JSON.stringify(full);
    if (text === this.lastSaved) return;
    this.lastSaved = text;
    this.next = full;
    this.saving ??= this.flush().finally(() => (this.saving = null));
  }

  /** Resolves when every queued write has been attempted. */
  async idle(): Promise<void> {
    while (this.saving) await this.saving;
  }

  private async flush(): Promise<void> {
    for (let s = this.next; s; s = this.next) {
      this.next = null;
      try {
        await (await this.bucket()).put(KEY, { v: 1, savedAt: new Date().toISOString(), ...s });
      } catch (err) {
        this.failures.inc({ op: 'write' });
        this.log.warn(
          { err, incidentId: s.incident?.id ?? null },
          'cannot store the watchdog state; will write again on the next change',
        );
        this.lastSaved = '';
      }
    }
  }
}
