import { afterAll, beforeAll, expect, it } from 'vitest';
import { clearFaults, eventsFor, freshSignal, injectFault, ordersFor, publishSignal, startEnv, startExecutor, waitFor, type Env } from './harness.js';

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
    await waitFor(() => eventsFor(env, first.id).some((e) => e.event === 'filled'), 'the first order filled');
    // The poll has taken the filled order out of the open orders and given up re-reading positions.
    await waitFor(() => ex.lines().some((l) => l.msg === 'list positions: giving up after 4 attempts'), 'the positions read to fail');

    const second = freshSignal(env, 'SPY', 'buy', 60, { strategy: 'momentum' });
    await publishSignal(env, second);
    await waitFor(() => eventsFor(env, second.id).some((e) => e.event === 'rejected' || e.event === 'submitted'), 'the second signal decided');
    expect(ordersFor(env, second.id)).toHaveLength(0);
    expect(eventsFor(env, second.id).find((e) => e.event === 'rejected')?.reason).toMatch(/position would be 120 \(now 60\), over MAX_POSITION_QTY 100/);
    expect(env.sim.broker.positions.get('SPY')?.qty).toBe(60);

    // Once the broker answers again its position replaces the fill counted locally; nothing is counted twice.
    await clearFaults(env, 'rest_error');
    await waitFor(() => ex.tracker.positions.get('SPY') === 60, 'positions read again');
    expect(ex.tracker.exposure('SPY')).toBe(60);
  } finally {
    await clearFaults(env, 'rest_error');
    await ex.close();
  }
});
