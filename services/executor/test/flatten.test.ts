// A KV write failing just after the broker closed everything cannot be produced on cue by a real
// nats-server, so the flatten gets the real bucket wrapped: one chosen write fails once.
import { Kvm, type KV } from '@nats-io/kv';
import { kvBuckets } from '@vigil/contracts';
import { Metrics } from '@vigil/service-kit';
import { captureLogger, waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { brokerCaller } from '../src/broker-call.js';
import { ExecutorState } from '../src/executor-state.js';
import { Flattener } from '../src/flatten.js';
import { HaltSwitch } from '../src/halt.js';
import { OrderTracker } from '../src/order-tracker.js';
import { command, injectFault, startEnv, type Env } from './harness.js';

let env: Env;
let kv: KV;
beforeAll(async () => {
  env = await startEnv();
  kv = await new Kvm(env.nc).create(kvBuckets.executorState.name, { history: kvBuckets.executorState.history });
});
afterAll(async () => env?.stop());

/** The bucket, except that the first `op` on a key starting with `prefix` throws. */
function failingOnce(op: 'put' | 'delete', prefix: string): KV {
  let failed = false;
  return new Proxy(kv, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (key: string, ...rest: unknown[]) => {
        if (prop === op && key.startsWith(prefix) && !failed) {
          failed = true;
          return Promise.reject(new Error(`KV ${op} timed out`));
        }
        return (value as (...args: unknown[]) => unknown).call(target, key, ...rest);
      };
    },
  });
}

function flattener(store: KV, scope: 'account' | 'vigil' = 'account') {
  const { logger, lines } = captureLogger();
  const metrics = new Metrics('executor', { defaultMetrics: false });
  const call = brokerCaller({ policy: { initialMs: 10, maxMs: 20 }, maxAttempts: 2, logger, metrics });
  const state = new ExecutorState(store, logger);
  const tracker = new OrderTracker({
    orders: env.rest.orders,
    positions: env.rest.positions,
    call,
    publish: async () => {},
    logger,
    metrics,
  });
  const halt = new HaltSwitch(state, logger, metrics);
  const f = new Flattener({
    orders: env.rest.orders,
    positions: env.rest.positions,
    scope,
    symbols: ['SPY'],
    call,
    state,
    halt,
    tracker,
    retry: { initialMs: 20, maxMs: 50 },
    logger,
    metrics,
  });
  const failures = async () =>
    (await metrics.registry.getSingleMetric('vigil_executor_flatten_bookkeeping_failures_total')?.get())?.values.reduce(
      (n, v) => n + v.value,
      0,
    ) ?? 0;
  const failureLogs = () =>
    lines().filter((l) => l.msg === 'flatten done at the broker, but its bookkeeping could not be saved; retrying');
  return { f, state, lines, failures, failureLogs };
}

it('replies with what was closed when recording the incident fails, and saves the record on a retry', async () => {
  env.sim.broker.submit({ symbol: 'SPY', side: 'buy', type: 'market', time_in_force: 'day', qty: '4' });
  const { f, state, failures, failureLogs } = flattener(failingOnce('put', 'flatten.done.'));
  const reply = await f.flatten({ ...command, incidentId: 'inc-kv-put' });
  expect(reply).toMatchObject({ ok: true, failed: [], halt: { halted: true } });
  expect(reply.closed.map((c) => `${c.symbol}:${c.qty}`)).toEqual(['SPY:4']);
  await waitFor('the record saved on a retry', async () => (await state.flattened('inc-kv-put')) !== null);
  expect(await state.flattenMarker()).toBeNull();
  expect(failureLogs()).toHaveLength(1);
  expect(failureLogs()[0]!.err).toMatchObject({ message: 'KV put timed out' });
  expect(await failures()).toBe(1);
  f.stop();
});

it('closes a position the broker refused once (403) on an inline retry, before it answers', async () => {
  env.sim.broker.submit({ symbol: 'SPY', side: 'buy', type: 'market', time_in_force: 'day', qty: '2' });
  await injectFault(env, {
    kind: 'rest_error',
    scope: 'trading',
    route: 'DELETE /v2/positions/SPY',
    status: 403,
    count: 1,
  });
  const { f, lines } = flattener(kv, 'vigil');
  const reply = await f.flatten({ ...command, incidentId: 'inc-inline-retry' });
  expect(reply).toMatchObject({ ok: true, failed: [] });
  expect(reply.closed.map((c) => `${c.symbol}:${c.qty}`)).toEqual(['SPY:2']);
  expect(lines().filter((l) => l.msg === 'remaining positions closed')).toEqual([
    expect.objectContaining({ attempt: 1, failed: [] }),
  ]);
  f.stop();
});

it('finishes the bookkeeping of a flatten resumed at start whose marker could not be removed', async () => {
  env.sim.broker.submit({ symbol: 'QQQ', side: 'buy', type: 'market', time_in_force: 'day', qty: '2' });
  await kv.put(
    'flatten.active',
    JSON.stringify({
      incidentId: 'inc-kv-delete',
      requestedBy: 'test',
      reason: 'restart',
      startedAt: new Date().toISOString(),
    }),
  );
  const { f, state, lines, failures, failureLogs } = flattener(failingOnce('delete', 'flatten.active'));
  await f.resumeInterrupted();
  await waitFor('the marker removed on a retry', async () => (await state.flattenMarker()) === null);
  expect(await state.flattened('inc-kv-delete')).toMatchObject({ closed: [{ symbol: 'QQQ', qty: 2 }] });
  expect(lines().some((l) => l.msg === 'flatten complete; executor stays halted')).toBe(true);
  expect(failureLogs()).toHaveLength(1);
  expect(await failures()).toBe(1);
  f.stop();
});

it('never flattens on an unreadable marker (anyone could have written it): halts for a person instead', async () => {
  env.sim.broker.submit({ symbol: 'IWM', side: 'buy', type: 'market', time_in_force: 'day', qty: '3' });
  await waitFor('IWM held', async () =>
    (await env.rest.positions.getAllOpenPositions()).some((p) => p.symbol === 'IWM'),
  );
  // What nats-server writes when a request names this key as its reply subject: its own JSON answer.
  await kv.put('flatten.active', JSON.stringify({ type: 'io.nats.jetstream.api.v1.account_info_response', memory: 0 }));
  const { f, state, lines } = flattener(kv);
  await f.resumeInterrupted();
  expect(lines().some((l) => /flatten marker in KV is unreadable: not flattening/.test(String(l.msg)))).toBe(true);
  expect(await state.halt()).toMatchObject({ halted: true, by: 'person' });
  expect((await env.rest.positions.getAllOpenPositions()).some((p) => p.symbol === 'IWM')).toBe(true);
  f.stop();
});
