import { waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventsFor, freshSignal, ordersFor, publishSignal, startEnv, startExecutor, type Env } from './harness.js';

let env: Env;
beforeAll(async () => {
  // A margin account: the broker itself would let a sell open a short, so only the executor's limits stop one.
  env = await startEnv({ margin: true });
});
afterAll(async () => env?.stop());

const decided = (id: string) => eventsFor(env, id).some((e) => e.event === 'rejected' || e.event === 'submitted');

it('checks MAX_POSITION_QTY per side: an unfilled buy makes no room for a sell', async () => {
  // A buy of 100 that will not fill (limit far below the price); the executor finds it at start.
  const buy = env.sim.broker.submit({
    symbol: 'SPY',
    side: 'buy',
    type: 'limit',
    limit_price: '1',
    time_in_force: 'day',
    qty: '100',
  });
  expect(buy.ok).toBe(true);
  const ex = await startExecutor(env, { MAX_POSITION_QTY: 100, ALLOW_SHORT: true });
  try {
    expect(ex.tracker.book('SPY')).toEqual({ held: 0, openBuy: 100, openSell: 0 });
    // Netted against the open buy this sell looks like -100; if the buy is canceled it leaves the account short 200.
    const tooBig = freshSignal(env, 'SPY', 'sell', 200);
    await publishSignal(env, tooBig);
    await waitFor('the sell of 200 decided', () => decided(tooBig.id));
    expect(ordersFor(env, tooBig.id)).toHaveLength(0);
    expect(eventsFor(env, tooBig.id).find((e) => e.event === 'rejected')?.reason).toBe(
      'short position could reach -200 (held 0, open sells 0, this sell 200), over MAX_POSITION_QTY 100',
    );
    expect(env.sim.broker.positions.get('SPY')).toBeUndefined();
  } finally {
    await ex.close();
    if (buy.ok) env.sim.broker.cancel(buy.value.id);
  }
});
