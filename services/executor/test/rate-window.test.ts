import { Kvm } from '@nats-io/kv';
import { kvBuckets } from '@vigil/contracts';
import { waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  clearFaults,
  eventsFor,
  freshSignal,
  injectFault,
  ordersFor,
  publishSignal,
  startEnv,
  startExecutor,
  type Env,
} from './harness.js';

let env: Env;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => env?.stop());

const decided = (id: string) => eventsFor(env, id).some((e) => e.event === 'rejected' || e.event === 'submitted');
const rejection = (id: string) => eventsFor(env, id).find((e) => e.event === 'rejected')?.reason;

it('keeps the orders-per-minute window across a restart: the next order within the minute is refused', async () => {
  const limit = { MAX_ORDERS_PER_MINUTE: 2 };
  let ex = await startExecutor(env, limit);
  const placed = [
    freshSignal(env, 'SPY', 'buy', 1, { strategy: 'first' }),
    freshSignal(env, 'SPY', 'buy', 1, { strategy: 'second' }),
  ];
  for (const s of placed) await publishSignal(env, s);
  await waitFor('both orders placed', () => placed.every((s) => decided(s.id)));
  for (const s of placed) expect(ordersFor(env, s.id)).toHaveLength(1);
  await ex.close();

  ex = await startExecutor(env, limit);
  const third = freshSignal(env, 'SPY', 'buy', 1, { strategy: 'third' });
  await publishSignal(env, third);
  await waitFor('the third signal decided', () => decided(third.id));
  await ex.close();
  expect(ordersFor(env, third.id)).toHaveLength(0);
  expect(rejection(third.id)).toBe('2 orders in the last minute, at MAX_ORDERS_PER_MINUTE 2');
});

it('counts the minute as full when the stored window cannot be read', async () => {
  const kv = await new Kvm(env.nc).open(kvBuckets.executorState.name);
  await kv.put('rate.sent', 'not json');
  const ex = await startExecutor(env, { MAX_ORDERS_PER_MINUTE: 5 });
  const s = freshSignal(env, 'QQQ', 'buy', 1, { strategy: 'unreadable' });
  await publishSignal(env, s);
  await waitFor('the signal decided', () => decided(s.id));
  await ex.close();
  expect(ordersFor(env, s.id)).toHaveLength(0);
  expect(rejection(s.id)).toBe('5 orders in the last minute, at MAX_ORDERS_PER_MINUTE 5');
  expect(
    ex.lines().some((l) => l.msg === 'stored orders-per-minute window unreadable; counting the last minute as full'),
  ).toBe(true);
});

it('counts orders still on their way: five symbols at once through slow POSTs, and the limit of 3 holds', async () => {
  // A fresh window: the tests above filled it.
  await (await new Kvm(env.nc).open(kvBuckets.executorState.name)).delete('rate.sent');
  const ex = await startExecutor(env, { MAX_ORDERS_PER_MINUTE: 3 });
  // Each POST takes 500 ms, so the five symbols' placements overlap (one lane per symbol).
  await injectFault(env, { kind: 'rest_slow', scope: 'trading', route: 'POST /v2/orders', delayMs: 500 });
  try {
    const signals = ['AAPL', 'MSFT', 'QQQ', 'IWM', 'SPY'].map((symbol) =>
      freshSignal(env, symbol, 'buy', 1, { strategy: 'burst' }),
    );
    for (const s of signals) await publishSignal(env, s);
    await waitFor('all five decided', () => signals.every((s) => decided(s.id)), { timeoutMs: 15_000 });
    const placed = signals.filter((s) => ordersFor(env, s.id).length === 1);
    const refused = signals.filter((s) => rejection(s.id)?.endsWith('at MAX_ORDERS_PER_MINUTE 3'));
    expect(placed).toHaveLength(3);
    expect(refused).toHaveLength(2);
  } finally {
    await clearFaults(env, 'rest_slow');
    await ex.close();
  }
});
