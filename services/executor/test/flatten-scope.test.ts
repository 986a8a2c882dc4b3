import { commands } from '@vigil/contracts';
import { waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { command, openPositions, request, startEnv, startExecutor, type Env } from './harness.js';

let env: Env;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => env?.stop());

const openOrders = () =>
  env.sim.broker
    .list({ status: 'open', limit: 500, direction: 'asc' })
    .map((o) => o.symbol)
    .sort();
const market = (symbol: string, qty: number) =>
  env.sim.broker.submit({ symbol, side: 'buy', type: 'market', time_in_force: 'day', qty: String(qty) });
const resting = (symbol: string) =>
  env.sim.broker.submit({ symbol, side: 'buy', type: 'limit', limit_price: '1', time_in_force: 'day', qty: '1' });

it('flattens only the symbols Vigil trades by default (FLATTEN_SCOPE=vigil), everything with FLATTEN_SCOPE=account, and says which', async () => {
  // Vigil trades SPY and AAPL; TSLA is someone else's, in the same account.
  market('SPY', 5);
  market('TSLA', 3);
  resting('AAPL');
  resting('TSLA');
  let ex = await startExecutor(env, { SYMBOLS: ['SPY', 'AAPL'] });
  const vigil = await request(env, commands.executorFlatten, { ...command, incidentId: 'inc-vigil' });
  expect(vigil).toMatchObject({
    ok: true,
    scope: 'vigil',
    canceledOrders: 1,
    failed: [],
    alreadyFlat: false,
    halt: { halted: true },
  });
  expect(vigil.closed.map((c) => `${c.symbol}:${c.qty}`)).toEqual(['SPY:5']);
  await waitFor('only TSLA left', async () => (await openPositions(env)).join() === 'TSLA:3');
  expect(openOrders()).toEqual(['TSLA']);
  await ex.close();

  ex = await startExecutor(env, { SYMBOLS: ['SPY', 'AAPL'], FLATTEN_SCOPE: 'account' });
  const account = await request(env, commands.executorFlatten, { ...command, incidentId: 'inc-account' });
  expect(account).toMatchObject({ ok: true, scope: 'account', canceledOrders: 1, failed: [], alreadyFlat: false });
  expect(account.closed.map((c) => `${c.symbol}:${c.qty}`)).toEqual(['TSLA:3']);
  await waitFor('an empty book', async () => (await openPositions(env)).length === 0);
  expect(openOrders()).toEqual([]);
  // An incident already flattened answers with the scope it was flattened with.
  const again = await request(env, commands.executorFlatten, { ...command, incidentId: 'inc-vigil' });
  expect(again).toMatchObject({ ok: true, alreadyFlat: true, scope: 'vigil', closed: [] });
  await ex.close();
});

it('with SYMBOLS=* flattens every position, as every symbol is one Vigil trades', async () => {
  market('SPY', 2);
  market('TSLA', 4);
  resting('AAPL');
  const ex = await startExecutor(env, { SYMBOLS: ['*'] });
  const reply = await request(env, commands.executorFlatten, { ...command, incidentId: 'inc-all' });
  expect(reply).toMatchObject({ ok: true, scope: 'vigil', canceledOrders: 1, failed: [] });
  expect(reply.closed.map((c) => `${c.symbol}:${c.qty}`).sort()).toEqual(['SPY:2', 'TSLA:4']);
  await waitFor('an empty book', async () => (await openPositions(env)).length === 0);
  expect(openOrders()).toEqual([]);
  await ex.close();
});
