// IndicatorStore on a real nats-server: what it stored comes back; a deleted key, or one that cannot be read,
// starts the symbol from scratch, and only the unreadable one is counted and logged.
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { kvBuckets } from '@vigil/contracts';
import { Metrics } from '@vigil/service-kit';
import { captureLogger, startNats, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IndicatorStore } from './indicator-store.js';
import { maCross } from './ma-cross.js';

const strategy = maCross({ fast: 2, slow: 3 });
let server: NatsServerHandle;
let nc: NatsConnection;
let kv: KV;
beforeAll(async () => {
  server = await startNats({ own: true });
  nc = await connect({ servers: server.url });
  kv = await new Kvm(nc).create(kvBuckets.strategyState.name, { history: kvBuckets.strategyState.history });
});
afterAll(async () => {
  await nc?.close();
  await server?.cleanup();
});

/** A store with an empty cache, as after a restart. */
function restarted() {
  const { logger, lines } = captureLogger();
  const metrics = new Metrics('strategy', { defaultMetrics: false });
  const store = new IndicatorStore(kv, strategy, logger, metrics, 2_000);
  const corrupt = async () => metrics.registry.getSingleMetricAsString('vigil_strategy_state_corrupt_total');
  const invalidLogs = () =>
    lines().filter((l) => l.msg === 'stored indicator state is invalid; starting this symbol from scratch');
  return { store, corrupt, invalidLogs };
}

it('gives back the stored state after a restart', async () => {
  await restarted().store.put('SPY', { lastT: 60_000, state: { closes: [1, 2], prevSpread: null } });
  const { store, invalidLogs } = restarted();
  expect(await store.get('SPY')).toEqual({ lastT: 60_000, state: { closes: [1, 2], prevSpread: null } });
  expect(invalidLogs()).toHaveLength(0);
});

it('starts a deleted or purged symbol from scratch without calling it corrupt', async () => {
  for (const remove of [() => kv.delete('ma_cross.QQQ'), () => kv.purge('ma_cross.QQQ')]) {
    await restarted().store.put('QQQ', { lastT: 60_000, state: { closes: [1], prevSpread: null } });
    await remove();
    const { store, corrupt, invalidLogs } = restarted();
    expect(await store.get('QQQ')).toEqual({ lastT: null, state: strategy.initial() });
    expect(await corrupt()).toMatch(/} 0$/m);
    expect(invalidLogs()).toHaveLength(0);
  }
});

it('starts a symbol whose stored state is not JSON, or not this strategy state, from scratch, counted and logged', async () => {
  await kv.put('ma_cross.IWM', 'not json');
  await kv.put('ma_cross.DIA', JSON.stringify({ v: 1, lastT: 60_000, state: { closes: 'x' } }));
  const { store, corrupt, invalidLogs } = restarted();
  expect(await store.get('IWM')).toEqual({ lastT: null, state: strategy.initial() });
  expect(await store.get('DIA')).toEqual({ lastT: null, state: strategy.initial() });
  expect(await corrupt()).toMatch(/} 2$/m);
  expect(invalidLogs().map((l) => l.symbol)).toEqual(['IWM', 'DIA']);
});
