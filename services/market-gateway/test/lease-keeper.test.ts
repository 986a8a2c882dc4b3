import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decodeAs, GatewayLease, kvBuckets } from '@vigil/contracts';
import { Metrics } from '@vigil/service-kit';
import { captureLogger, startNats, waitFor, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseKeeper } from '../src/lease-keeper.js';

const TTL = 1000;
let server: NatsServerHandle;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startNats({ own: true });
  nc = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc?.close();
  await server?.cleanup();
});

/** The lease entry as stored. */
async function storedLease(): Promise<GatewayLease | null> {
  const entry = await (await new Kvm(nc).open(kvBuckets.gatewayLeader.name)).get('leader');
  if (entry?.operation !== 'PUT') return null;
  const lease = decodeAs(GatewayLease, 'lease', entry.value);
  return lease.ok ? lease.value : null;
}

/** A keeper driven by hand (`tick()`), on a monotonic clock the test moves. */
async function keeper(replicaId: string, instanceId = `${replicaId}-1`) {
  const kv = await new Kvm(nc).create(kvBuckets.gatewayLeader.name, { history: 1, ttl: TTL });
  let mono = 0;
  const events: string[] = [];
  const k = new LeaseKeeper({
    kv,
    replicaId,
    instanceId,
    ttlMs: TTL,
    mono: () => mono,
    onAcquired: () => events.push('acquired'),
    onLost: (reason) => events.push(`lost: ${reason}`),
    logger: captureLogger().logger,
    metrics: new Metrics('market-gateway', { defaultMetrics: false }),
  });
  return { k, events, advance: (ms: number) => (mono += ms) };
}

describe('LeaseKeeper on a real nats-server', () => {
  it('one holds, the other waits; a dead holder is replaced once its entry ages out, and finds itself fenced', async () => {
    const a = await keeper('gw-a');
    const b = await keeper('gw-b');
    await a.k.tick();
    await b.k.tick();
    expect([a.k.holds(), b.k.holds()]).toEqual([true, false]);
    expect(b.k.leader()).toEqual({ replicaId: 'gw-a', instanceId: 'gw-a-1' });

    // a renews while alive; b still waits. The entry keeps saying since when a holds it.
    const taken = await storedLease();
    expect(taken).toMatchObject({ holder: 'gw-a', instanceId: 'gw-a-1' });
    await new Promise((r) => setTimeout(r, 20));
    a.advance(300);
    await a.k.tick();
    await b.k.tick();
    expect([a.k.holds(), b.k.holds()]).toEqual([true, false]);
    expect(await storedLease()).toEqual(taken);

    // a freezes (no more ticks). Its entry ages out on the server; b takes the lease.
    a.advance(5000);
    expect(a.k.holds()).toBe(false);
    await waitFor(
      'b to take the lease',
      async () => {
        await b.k.tick();
        return b.k.holds();
      },
      {
        timeoutMs: 5000,
        intervalMs: 100,
      },
    );
    expect(b.events).toEqual(['acquired']);

    // a wakes: it steps down without writing.
    await a.k.tick();
    expect(a.events).toEqual(['acquired', 'lost: the lease could have lapsed: no renewal got through in time']);
    await a.k.tick();
    expect(a.k.holds()).toBe(false);
    expect(a.k.leader()).toEqual({ replicaId: 'gw-b', instanceId: 'gw-b-1' });
    await b.k.stop();
  });

  it('a stopped holder releases the lease so a standby takes it at once; a restarted replica reclaims its own', async () => {
    const a = await keeper('gw-c');
    const b = await keeper('gw-d');
    await waitFor(
      'c to take a free lease',
      async () => {
        await a.k.tick();
        return a.k.holds();
      },
      {
        timeoutMs: 5000,
        intervalMs: 100,
      },
    );
    await a.k.stop();
    expect(a.events).toEqual(['acquired', 'lost: shutting down']);
    await b.k.tick();
    expect(b.k.holds()).toBe(true);

    // gw-d's process dies (no release) and comes back under the same replica id: it need not wait out the TTL.
    const again = await keeper('gw-d', 'gw-d-2');
    await again.k.tick();
    expect(again.k.holds()).toBe(true);
    // The old process, were it still alive, lost its compare-and-set.
    b.advance(100);
    await b.k.tick();
    expect(b.events).toEqual(['acquired', 'lost: another replica wrote the lease']);
    await again.k.stop();
  });
});
