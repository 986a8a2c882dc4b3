import type { KV } from '@nats-io/kv';
import { decodeAs, encode, GatewayLease, kvBuckets } from '@vigil/contracts';
import { isWrongLastSequence, type Logger, type Metrics } from '@vigil/service-kit';
import { holdsLease, leaseTickMs, standbyMove, type LeaseRead } from './lease.js';

export const LEASE_KEY = 'leader';

export interface LeaseKeeperDeps {
  /** The `gateway_leader` bucket, created with `ttl: ttlMs`. */
  kv: Pick<KV, 'get' | 'create' | 'update' | 'delete'>;
  replicaId: string;
  instanceId: string;
  ttlMs: number;
  /** Monotonic ms (performance.now in production): a wall-clock jump must not extend a lease. */
  mono: () => number;
  now?: () => number;
  /** Called once each time this replica takes the lease, and once each time it stops holding it, with why. */
  onAcquired: () => void;
  onLost: (reason: string) => void;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Keeps this replica's side of the gateway lease: as holder it renews every third of the TTL by a
 * compare-and-set on its own revision; as standby it reads the entry and takes it once it has aged out.
 * `holds()` is the fence every publish checks: false from the moment the lease could have lapsed.
 */
export class LeaseKeeper {
  private revision: number | null = null;
  private lastWriteSentAt: number | null = null;
  /** When this replica took the lease it holds (its clock). */
  private takenAt = 0;
  private leading = false;
  private holder: { replicaId: string; instanceId: string } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly m;

  constructor(private readonly deps: LeaseKeeperDeps) {
    this.now = deps.now ?? Date.now;
    this.log = deps.logger.child({ component: 'lease', replicaId: deps.replicaId });
    this.m = {
      changes: deps.metrics.counter('gateway_lease_changes_total', 'Times this replica took or lost the lease', ['to']),
      failures: deps.metrics.counter('gateway_lease_failures_total', 'Lease reads or writes that failed', ['op']),
    };
    const self = this;
    deps.metrics.gauge('gateway_leader', '1 while this replica holds the gateway lease and streams', [], function () {
      this.set(self.holds() ? 1 : 0);
    });
  }

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), leaseTickMs(this.deps.ttlMs));
  }

  /** Whether this replica may stream and publish now (see `holdsLease`). */
  holds(): boolean {
    return this.leading && holdsLease(this.lastWriteSentAt, this.deps.mono(), this.deps.ttlMs);
  }

  /** The holder as last seen: this replica while it leads, else what the last read said. */
  leader(): { replicaId: string; instanceId: string } | null {
    return this.leading ? { replicaId: this.deps.replicaId, instanceId: this.deps.instanceId } : this.holder;
  }

  /** Stop renewing; if this replica holds the lease, give it up at once so a standby need not wait out the TTL. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.resign('shutting down');
  }

  /**
   * Give the lease up now (a leader that cannot stream must not keep a standby waiting): `onLost` is called, and
   * the entry is deleted if it is still this replica's, so another takes it at its next read.
   */
  async resign(reason: string): Promise<void> {
    if (!this.leading || this.revision === null) return;
    const revision = this.revision;
    this.lose(reason);
    await this.deps.kv.delete(LEASE_KEY, { previousSeq: revision }).catch((err: unknown) => {
      this.m.failures.inc({ op: 'release' });
      this.log.warn({ err }, 'could not release the lease; another replica takes it when it ages out');
    });
  }

  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if (this.leading) await this.renew();
      else await this.stand();
    } finally {
      this.busy = false;
    }
  }

  /** The entry this replica writes; `since` stays when it took the lease, through every renewal. */
  private value(since: number): Uint8Array {
    return encode(GatewayLease, {
      v: 1,
      holder: this.deps.replicaId,
      instanceId: this.deps.instanceId,
      since: new Date(since).toISOString(),
    });
  }

  private async renew(): Promise<void> {
    if (!this.holds()) return this.lose('the lease could have lapsed: no renewal got through in time');
    const sentAt = this.deps.mono();
    try {
      this.revision = await this.deps.kv.update(LEASE_KEY, this.value(this.takenAt), this.revision ?? 0);
      this.lastWriteSentAt = sentAt;
    } catch (err) {
      this.m.failures.inc({ op: 'renew' });
      if (isWrongLastSequence(err)) return this.lose('another replica wrote the lease');
      this.log.warn({ err }, 'lease renewal failed; retrying, and stepping down if it could lapse meanwhile');
    }
  }

  private async stand(): Promise<void> {
    let read: LeaseRead;
    try {
      read = await this.read();
    } catch (err) {
      this.m.failures.inc({ op: 'read' });
      this.log.debug({ err }, 'cannot read the lease; standing by');
      return;
    }
    const move = standbyMove(read, this.deps.replicaId);
    if (move.move === 'wait') return;
    const sentAt = this.deps.mono();
    const takenAt = this.now();
    try {
      this.revision =
        move.move === 'take'
          ? await this.deps.kv.create(LEASE_KEY, this.value(takenAt))
          : await this.deps.kv.update(LEASE_KEY, this.value(takenAt), move.revision);
    } catch (err) {
      // Another standby got there first (create finds the key, or the revision moved): it leads.
      if (!isWrongLastSequence(err)) {
        this.m.failures.inc({ op: move.move });
        this.log.warn({ err }, 'could not take the free lease; trying again');
      }
      return;
    }
    this.lastWriteSentAt = sentAt;
    this.takenAt = takenAt;
    this.leading = true;
    this.holder = null;
    this.m.changes.inc({ to: 'leader' });
    this.log.warn({ move: move.move, revision: this.revision }, 'took the gateway lease: this replica streams now');
    this.deps.onAcquired();
  }

  private async read(): Promise<LeaseRead> {
    const entry = await this.deps.kv.get(LEASE_KEY);
    if (entry?.operation !== 'PUT') {
      this.holder = null;
      return { held: false };
    }
    const decoded = decodeAs(GatewayLease, `$KV.${kvBuckets.gatewayLeader.name}.${LEASE_KEY}`, entry.value);
    if (!decoded.ok) {
      // Unreadable: wait for it to age out like any other holder's entry, rather than fight over it.
      this.log.error(
        { err: decoded.error, revision: entry.revision },
        'the lease entry is unreadable; waiting for it to age out',
      );
      return { held: true, replicaId: '(unreadable)', revision: entry.revision };
    }
    this.holder = { replicaId: decoded.value.holder, instanceId: decoded.value.instanceId };
    return { held: true, replicaId: decoded.value.holder, revision: entry.revision };
  }

  private lose(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.revision = null;
    this.lastWriteSentAt = null;
    this.m.changes.inc({ to: 'standby' });
    this.log.error({ reason }, 'lost the gateway lease: this replica stops streaming and stands by');
    this.deps.onLost(reason);
  }
}
