import { Kvm } from '@nats-io/kv';
import { kvBucketOptions, kvBuckets, StandbyHeartbeat, subjects } from '@vigil/contracts';
import { Heartbeat, type ServiceHealth } from '@vigil/service-kit';
import { performance } from 'node:perf_hooks';
import { createGateway, type Gateway, type GatewayDeps } from './gateway.js';
import { gatewayHealth } from './health.js';
import { LeaseKeeper } from './lease-keeper.js';

export interface ReplicaDeps extends GatewayDeps {
  /** Defaults to performance.now: the lease is timed on a clock no wall-clock step can move. */
  mono?: () => number;
}

export interface Replica {
  /** The streaming gateway while this replica holds the lease, else null. */
  gateway(): Gateway | null;
  health(): ServiceHealth;
  stop(): Promise<void>;
}

/**
 * One market-gateway replica: it streams only while it holds the gateway lease (KV `gateway_leader`), and
 * otherwise stands by, reading the lease and saying so on `md.standby`, ready to take over when the holder's
 * entry ages out (`LEASE_TTL_MS` after its last renewal). Leadership changes are serialized: a replica that loses
 * the lease stops streaming (dropping what it had queued: the next leader backfills from the stream) before it
 * may take the lease again.
 */
export async function startReplica(deps: ReplicaDeps): Promise<Replica> {
  const { config, nc, logger, metrics, readiness } = deps;
  const bucket = kvBuckets.gatewayLeader;
  const kv = await new Kvm(nc).create(bucket.name, {
    ...kvBucketOptions(bucket, config.JS_REPLICAS),
    ttl: config.LEASE_TTL_MS,
  });
  const log = logger.child({ component: 'replica', replicaId: config.REPLICA_ID });
  let gateway: Gateway | null = null;
  let stopping = false;
  let changes: Promise<void> = Promise.resolve();
  const serially = (what: string, work: () => Promise<void>) => {
    changes = changes.then(work).catch((err: unknown) => log.error({ err }, `${what} failed`));
  };
  const standingBy = () => readiness.set('feed', true, 'standby: ready to take over the gateway lease');

  const keeper: LeaseKeeper = new LeaseKeeper({
    kv,
    replicaId: config.REPLICA_ID,
    instanceId: deps.instanceId,
    ttlMs: config.LEASE_TTL_MS,
    mono: deps.mono ?? (() => performance.now()),
    logger,
    metrics,
    onAcquired: () =>
      serially('taking over', async () => {
        standby.stop();
        try {
          gateway = await createGateway({ ...deps, mayPublish: () => keeper.holds(), backfillAtStart: true });
        } catch (err) {
          log.error({ err }, 'took the lease but could not start streaming; giving the lease up for another replica');
          await keeper.resign('could not start streaming');
        }
        // Lost while starting: its publishes are fenced already, and the keeper's onLost, queued behind this,
        // stops it (stepping down here too would start the standby heartbeat twice).
      }),
    onLost: (reason) => serially('stepping down', () => stepDown(reason)),
  });

  const stepDown = async (reason: string) => {
    const was = gateway;
    gateway = null;
    if (was) {
      await was.stop({ flush: false });
      log.warn({ reason }, 'stopped streaming; standing by');
    }
    if (stopping) return;
    standingBy();
    standby.start();
  };

  const standby = new Heartbeat({
    nc,
    subject: subjects.gatewayStandby,
    schema: StandbyHeartbeat,
    build: (seq): StandbyHeartbeat => ({
      v: 1,
      service: 'market-gateway',
      instanceId: deps.instanceId,
      replicaId: config.REPLICA_ID,
      seq,
      sentAt: new Date().toISOString(),
      leader: keeper.leader(),
      leaseTtlMs: config.LEASE_TTL_MS,
    }),
    intervalMs: config.HEARTBEAT_INTERVAL_MS,
    logger,
    metrics,
    failures: { name: 'gateway_standby_heartbeat_failures_total', help: 'Standby heartbeats that could not be sent' },
  });

  standingBy();
  standby.start();
  keeper.start();
  log.info({ ttlMs: config.LEASE_TTL_MS }, 'replica started: taking the gateway lease, or standing by for it');

  return {
    gateway: () => gateway,
    health: () => {
      if (gateway) {
        const own = gatewayHealth(gateway.heartbeat());
        return { ...own, figures: { ...own.figures, leader: 1 } };
      }
      const leader = keeper.leader();
      return {
        status: 'ok',
        figures: { leader: 0 },
        notes: [leader ? `standby: ${leader.replicaId} holds the gateway lease` : 'standby: the gateway lease is free'],
      };
    },
    stop: async () => {
      stopping = true;
      standby.stop();
      await changes;
      // What is queued goes out while the lease is still held; then the lease is given up, so a standby takes
      // over at once rather than after the TTL.
      const was = gateway;
      gateway = null;
      await was?.stop();
      await keeper.stop();
      await changes;
    },
  };
}
