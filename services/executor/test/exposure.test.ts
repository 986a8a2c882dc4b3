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

it('counts a fill the order poll saw while positions could not be read: the next signal cannot pass MAX_POSITION_QTY', async () => {
  const ex = await startExecutor(env, { MAX_POSITION_QTY: 100 });
  try {
    // From here on positions cannot be read, so the position figure stays at what the start-up reconcile saw.
    await injectFault(env, { kind: 'rest_error', scope: 'trading', route: 'GET /v2/positions', status: 500 });
    const first = freshSignal(env, 'SPY', 'buy', 60);
    await publishSignal(env, first);
    await waitFor('the first order filled', () => eventsFor(env, first.id).some((e) => e.event === 'filled'));
    // The poll has taken the filled order out of the open orders and given up re-reading positions.
    await waitFor('the positions read to fail', () =>
      ex.lines().some((l) => l.msg === 'list positions: giving up after 4 attempts'),
    );

    const second = freshSignal(env, 'SPY', 'buy', 60, { strategy: 'momentum' });
    await publishSignal(env, second);
    await waitFor('the second signal decided', () =>
      eventsFor(env, second.id).some((e) => e.event === 'rejected' || e.event === 'submitted'),
    );
    expect(ordersFor(env, second.id)).toHaveLength(0);
    expect(eventsFor(env, second.id).find((e) => e.event === 'rejected')?.reason).toMatch(
      /long position could reach 120 \(held 60, open buys 0, this buy 60\), over MAX_POSITION_QTY 100/,
    );
    expect(env.sim.broker.positions.get('SPY')?.qty).toBe(60);

    // Once the broker answers again its position replaces the fill counted locally; nothing is counted twice.
    await clearFaults(env, 'rest_error');
    await waitFor('positions read again', () => ex.tracker.positions.get('SPY') === 60);
    expect(ex.tracker.exposure('SPY')).toBe(60);
  } finally {
    await clearFaults(env, 'rest_error');
    await ex.close();
  }
});
