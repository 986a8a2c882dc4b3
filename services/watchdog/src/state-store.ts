import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { kvBuckets } from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';
import { setTimeout as sleep } from 'node:timers/promises';
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
      pausedMs: z.number().nonnegative().default(0),
      pausedAt: z.number().nullable().default(null),
      failedAlerted: z.array(command),
    })
    .nullable(),
});

/**
 * Keeps the open incident and the executor's halt in a JetStream KV bucket, so a restarted watchdog
 * carries on the same incident (no second no_bar page, no second flatten) and still sends the resume.
 * Writes are coalesced: at most one in flight, the newest state wins. A bucket that cannot be bound yet
 * (JetStream still starting) is bound again on the next write, so memory comes back once JetStream does.
 */
export class StateStore {
  private kv: KV | null = null;
  private saving: Promise<void> | null = null;
  private next: PersistedState | null = null;
  private lastSaved = '';
  private readonly log: Logger;
  private readonly failures;

  constructor(
    private readonly nc: NatsConnection,
    logger: Logger,
    metrics: Metrics,
    /** Reads at start: tries and the pause between them, so a NATS server still starting is waited for. */
    private readonly readRetry = { attempts: 5, delayMs: 1_000 },
  ) {
    this.log = logger.child({ component: 'state-store' });
    this.failures = metrics.counter('watchdog_state_store_failures_total', 'Failed reads or writes of the watchdog state bucket', ['op']);
  }

  private async bucket(): Promise<KV> {
    const { name, history } = kvBuckets.watchdogState;
    this.kv ??= await new Kvm(this.nc).create(name, { history });
    return this.kv;
  }

  /**
   * The stored state, or null when there is none. A read that keeps failing is retried first: starting fresh
   * would overwrite an open incident with the next write, and that is said loudly when it must happen.
   */
  async load(): Promise<(PersistedState & { savedAt: number }) | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return this.read(await this.bucket());
      } catch (err) {
        this.failures.inc({ op: 'read' });
        if (attempt >= this.readRetry.attempts) {
          this.log.error({ err, attempts: attempt }, 'cannot read the stored watchdog state; starting fresh, and the next write replaces whatever incident was stored');
          return null;
        }
        this.log.warn({ err, attempt, retryInMs: this.readRetry.delayMs }, 'cannot read the stored watchdog state yet; retrying');
        await sleep(this.readRetry.delayMs);
      }
    }
  }

  private async read(kv: KV): Promise<(PersistedState & { savedAt: number }) | null> {
    const entry = await kv.get(KEY);
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
    return { lastFreshAt, incident, executorHalted, savedAt: Date.parse(parsed.data.savedAt) };
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
        await (await this.bucket()).put(KEY, JSON.stringify({ v: 1, savedAt: new Date().toISOString(), ...s }));
      } catch (err) {
        this.failures.inc({ op: 'write' });
        this.log.warn({ err, incidentId: s.incident?.id ?? null }, 'cannot store the watchdog state; will write again on the next change');
        this.lastSaved = '';
      }
    }
  }
}
