import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { kvBuckets } from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';
import * as z from 'zod';
import type { PersistedState } from './rules.js';

const KEY = 'watchdog';
const step = z.enum(['none', 'pending', 'done', 'failed']);
const command = z.enum(['reconnect', 'halt', 'flatten', 'resume']);

/** The stored form of `PersistedState`, validated on read: a corrupt entry is logged and ignored, not trusted. */
const Snapshot = z.strictObject({
  v: z.literal(1),
  savedAt: z.iso.datetime(),
  lastFreshAt: z.number(),
  executorHalted: z.boolean(),
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
      failedAlerted: z.array(command),
    })
    .nullable(),
});

/**
 * Keeps the open incident and the executor's halt in a JetStream KV bucket, so a restarted watchdog
 * carries on the same incident (no second no_bar page, no second flatten) and still sends the resume.
 * Writes are coalesced: at most one in flight, the newest state wins.
 */
export class StateStore {
  private saving: Promise<void> | null = null;
  private next: PersistedState | null = null;
  private lastSaved = '';
  private readonly failures;

  private constructor(
    private readonly kv: KV,
    private readonly log: Logger,
    metrics: Metrics,
  ) {
    this.failures = metrics.counter('watchdog_state_store_failures_total', 'Failed reads or writes of the watchdog state bucket', ['op']);
  }

  /** Bind the bucket, or null (logged) when JetStream is unavailable: the watchdog then runs without memory. */
  static async open(nc: NatsConnection, logger: Logger, metrics: Metrics): Promise<StateStore | null> {
    const log = logger.child({ component: 'state-store' });
    try {
      const { name, history } = kvBuckets.watchdogState;
      return new StateStore(await new Kvm(nc).create(name, { history }), log, metrics);
    } catch (err) {
      metrics.counter('watchdog_state_store_failures_total', 'Failed reads or writes of the watchdog state bucket', ['op']).inc({ op: 'open' });
      log.error({ err }, 'cannot open the watchdog state bucket; an open incident will not survive a restart (enable JetStream)');
      return null;
    }
  }

  async load(): Promise<PersistedState | null> {
    try {
      const entry = await this.kv.get(KEY);
      if (!entry || entry.length === 0) return null;
      const parsed = Snapshot.safeParse(entry.json());
      if (!parsed.success) {
        this.failures.inc({ op: 'decode' });
        this.log.error({ issues: z.prettifyError(parsed.error) }, 'stored watchdog state is invalid; starting fresh');
        return null;
      }
      const { lastFreshAt, incident, executorHalted } = parsed.data;
      this.lastSaved = JSON.stringify({ lastFreshAt, incident, executorHalted });
      this.log.info({ incidentId: incident?.id ?? null, executorHalted, savedAt: parsed.data.savedAt }, 'recovered watchdog state');
      return { lastFreshAt, incident, executorHalted };
    } catch (err) {
      this.failures.inc({ op: 'read' });
      this.log.error({ err }, 'cannot read the stored watchdog state; starting fresh');
      return null;
    }
  }

  /** Queue a write when the state changed; never throws, never blocks the caller. */
  save(state: PersistedState): void {
    const text = JSON.stringify(state);
    if (text === this.lastSaved) return;
    this.lastSaved = text;
    this.next = state;
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
        await this.kv.put(KEY, JSON.stringify({ v: 1, savedAt: new Date().toISOString(), ...s }));
      } catch (err) {
        this.failures.inc({ op: 'write' });
        this.log.warn({ err, incidentId: s.incident?.id ?? null }, 'cannot store the watchdog state; will write again on the next change');
        this.lastSaved = '';
      }
    }
  }
}
