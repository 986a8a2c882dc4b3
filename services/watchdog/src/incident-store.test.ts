import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { kvBuckets } from '@vigil/contracts';
import { Metrics } from '@vigil/service-kit';
import { captureLogger, startNats, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IncidentStore } from './incident-store.js';

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

it('retries a failing read of the stored state, not only opening the bucket, before starting fresh', async () => {
  const kv = await new Kvm(nc).create(kvBuckets.watchdogState.name);
  await kv.put(
    'watchdog',
    JSON.stringify({ v: 1, savedAt: new Date().toISOString(), lastFreshAt: 5, executorHalted: true, incident: null }),
  );
  let gets = 0;
  const flaky: KV = Object.assign(Object.create(kv) as KV, {
    get: async (key: string) => {
      gets += 1;
      if (gets === 1) throw new Error('TimeoutError: timeout');
      return kv.get(key);
    },
  });
  const { logger, lines } = captureLogger();
  const store = new IncidentStore(nc, logger, new Metrics('watchdog', { defaultMetrics: false }), {
    readRetry: { attempts: 3, delayMs: 10 },
  });
  // The bucket opens fine; its first read fails (a KV stream still recovering after a NATS restart).
  (store as unknown as { kv: KV }).kv = flaky;
  const loaded = await store.load();
  expect(loaded).toMatchObject({ lastFreshAt: 5, executorHalted: true });
  expect(gets).toBe(2);
  expect(lines().some((l) => l.msg === 'cannot read the stored watchdog state yet; retrying')).toBe(true);
});

it('reads a deleted or purged state as none, without counting a failure', async () => {
  const kv = await new Kvm(nc).create(kvBuckets.watchdogState.name);
  const metrics = new Metrics('watchdog', { defaultMetrics: false });
  const store = new IncidentStore(nc, captureLogger().logger, metrics, { readRetry: { attempts: 1, delayMs: 10 } });
  for (const remove of [() => kv.delete('watchdog'), () => kv.purge('watchdog')]) {
    await kv.put(
      'watchdog',
      JSON.stringify({ v: 1, savedAt: new Date().toISOString(), lastFreshAt: 5, executorHalted: true, incident: null }),
    );
    await remove();
    expect(await store.load()).toBeNull();
  }
  expect(await metrics.registry.getSingleMetricAsString('vigil_watchdog_state_store_failures_total')).not.toMatch(
    /} [1-9]/,
  );
});

it('starts fresh on stored JSON that is not its state, at once, counting a decode failure', async () => {
  const kv = await new Kvm(nc).create(kvBuckets.watchdogState.name);
  // What nats-server writes when a request names the key as its reply subject.
  await kv.put('watchdog', JSON.stringify({ type: 'io.nats.jetstream.api.v1.account_info_response', memory: 0 }));
  const { logger, lines } = captureLogger();
  const metrics = new Metrics('watchdog', { defaultMetrics: false });
  const store = new IncidentStore(nc, logger, metrics, { readRetry: { attempts: 3, delayMs: 10 } });
  expect(await store.load()).toBeNull();
  expect(lines().filter((l) => l.msg === 'stored watchdog state is invalid; starting fresh')).toHaveLength(1);
  expect(lines().some((l) => l.msg === 'cannot read the stored watchdog state yet; retrying')).toBe(false);
  expect(await metrics.registry.getSingleMetricAsString('vigil_watchdog_state_store_failures_total')).toMatch(
    /op="decode"[^\n]*} 1/,
  );
});

it('retries a stored value that is not JSON like a failed read, then starts fresh', async () => {
  const kv = await new Kvm(nc).create(kvBuckets.watchdogState.name);
  await kv.put('watchdog', 'not json');
  const { logger, lines } = captureLogger();
  const metrics = new Metrics('watchdog', { defaultMetrics: false });
  const store = new IncidentStore(nc, logger, metrics, { readRetry: { attempts: 2, delayMs: 10 } });
  expect(await store.load()).toBeNull();
  expect(lines().some((l) => l.msg === 'cannot read the stored watchdog state yet; retrying')).toBe(true);
  expect(lines().some((l) => String(l.msg).startsWith('cannot read the stored watchdog state; starting fresh'))).toBe(
    true,
  );
  expect(await metrics.registry.getSingleMetricAsString('vigil_watchdog_state_store_failures_total')).toMatch(
    /op="read"[^\n]*} 2/,
  );
});
