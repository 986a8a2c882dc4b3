import { waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsFor, freshSignal, ordersFor, publishSignal, startEnv, startExecutor, type Env } from './harness.js';

let env: Env;
beforeAll(async () => {
  // A margin account: the broker would let any sell open a short; only the executor keeps the account long.
  env = await startEnv({ margin: true });
});
afterAll(async () => env?.stop());

const decided = (id: string) => eventsFor(env, id).some((e) => e.event === 'rejected' || e.event === 'submitted');
const filled = (id: string) => eventsFor(env, id).some((e) => e.event === 'filled');
const held = (symbol: string) => env.sim.broker.positions.get(symbol)?.qty ?? 0;
const brokerPosition = async (symbol: string) =>
  (await env.rest.positions.getAllOpenPositions()).find((p) => p.symbol === symbol);

describe('short selling', () => {
  it('ALLOW_SHORT=false: a sell with nothing held is refused, and one larger than the position is cut to it: never short', async () => {
    const ex = await startExecutor(env, { ALLOW_SHORT: false });
    try {
      const naked = freshSignal(env, 'SPY', 'sell', 10);
      await publishSignal(env, naked);
      await waitFor('the sell decided', () => decided(naked.id));
      expect(ordersFor(env, naked.id)).toHaveLength(0);
      expect(eventsFor(env, naked.id).map((e) => `${e.event}: ${e.reason}`)).toEqual([
        'rejected: long-only (ALLOW_SHORT=false): no shares to sell (held 0, open sells 0)',
      ]);
      expect(held('SPY')).toBe(0);

      const buy = freshSignal(env, 'SPY', 'buy', 6, { strategy: 'entry' });
      await publishSignal(env, buy);
      await waitFor('six shares held', () => filled(buy.id) && ex.tracker.book('SPY').held === 6);
      const exit = freshSignal(env, 'SPY', 'sell', 10, { strategy: 'exit' });
      await publishSignal(env, exit);
      await waitFor('the sell filled', () => filled(exit.id));
      expect(ordersFor(env, exit.id)).toMatchObject([{ side: 'sell', qty: '6' }]);
      expect(eventsFor(env, exit.id).find((e) => e.event === 'filled')).toMatchObject({ qty: 6, filledQty: 6 });
      expect(ex.lines().some((l) => l.msg === 'sell cut to the 6 shares held (long-only, ALLOW_SHORT=false)')).toBe(
        true,
      );
      expect(held('SPY')).toBe(0);
      expect(await brokerPosition('SPY')).toBeUndefined();
    } finally {
      await ex.close();
    }
  });

  it('ALLOW_SHORT=true: a sell opens a short, read back as a negative position, within MAX_POSITION_QTY', async () => {
    const ex = await startExecutor(env, { ALLOW_SHORT: true, MAX_POSITION_QTY: 50 });
    try {
      const short = freshSignal(env, 'QQQ', 'sell', 40);
      await publishSignal(env, short);
      await waitFor('the short sale filled', () => filled(short.id));
      // Alpaca reports a short as side "short"; the executor reads it back as -40.
      expect(await brokerPosition('QQQ')).toMatchObject({ side: 'short', qty: '-40' });
      await waitFor('the short read back', () => ex.tracker.positions.get('QQQ') === -40);
      expect(ex.tracker.book('QQQ')).toEqual({ held: -40, openBuy: 0, openSell: 0 });

      const more = freshSignal(env, 'QQQ', 'sell', 20, { strategy: 'momentum' });
      await publishSignal(env, more);
      await waitFor('the second sell decided', () => decided(more.id));
      expect(ordersFor(env, more.id)).toHaveLength(0);
      expect(eventsFor(env, more.id).find((e) => e.event === 'rejected')?.reason).toBe(
        'short position could reach -60 (held -40, open sells 0, this sell 20), over MAX_POSITION_QTY 50',
      );
      expect(held('QQQ')).toBe(-40);
    } finally {
      await ex.close();
    }
  });
});
