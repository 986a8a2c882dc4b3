import { waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventsFor, freshSignal, ordersFor, publishSignal, startEnv, startExecutor, type Env } from './harness.js';

let env: Env;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => env?.stop());

it('sends no order while the broker clock says the market is closed, and trades again once it is open', async () => {
  // 16:30 New York on Tuesday 2026-01-06: after the close. The simulator would take the order and fill it at the open.
  env.sim.clock.set(Date.parse('2026-01-06T16:30:00-05:00'));
  let ex = await startExecutor(env);
  const closed = freshSignal(env, 'SPY', 'buy', 1);
  await publishSignal(env, closed);
  await waitFor('the signal decided', () =>
    eventsFor(env, closed.id).some((e) => e.event === 'rejected' || e.event === 'submitted'),
  );
  await ex.close();
  expect(ordersFor(env, closed.id)).toHaveLength(0);
  expect(eventsFor(env, closed.id).map((e) => e.event)).toEqual(['rejected']);
  expect(eventsFor(env, closed.id)[0]!.reason).toBe(
    'market closed (broker clock); orders go out only in regular hours',
  );

  // The next morning, a few minutes after the open.
  env.sim.clock.set(Date.parse('2026-01-07T09:35:00-05:00'));
  ex = await startExecutor(env);
  const open = freshSignal(env, 'SPY', 'buy', 1);
  await publishSignal(env, open);
  await waitFor('the order filled', () => eventsFor(env, open.id).some((e) => e.event === 'filled'));
  await ex.close();
  expect(ordersFor(env, open.id)).toHaveLength(1);
});
