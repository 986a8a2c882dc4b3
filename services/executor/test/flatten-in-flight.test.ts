// Orders for different symbols go out side by side; a flatten must still wait for every order on its way
// and let none out after it, or a position would be opened behind the flatten's back.
import { commands } from '@vigil/contracts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  clearFaults,
  command,
  eventsFor,
  freshSignal,
  injectFault,
  openPositions,
  publishSignal,
  request,
  startEnv,
  startExecutor,
  type Env,
} from './harness.js';

let env: Env;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => env?.stop());

it('flattens after the orders on their way, and places none behind it', async () => {
  const ex = await startExecutor(env, { FLATTEN_SCOPE: 'account' });
  // Each POST takes 600 ms: the flatten is asked while three orders are at the broker's door.
  await injectFault(env, { kind: 'rest_slow', scope: 'trading', route: 'POST /v2/orders', delayMs: 600 });
  try {
    const signals = ['AAPL', 'MSFT', 'QQQ'].map((symbol) => freshSignal(env, symbol, 'buy', 2, { strategy: 'race' }));
    for (const s of signals) await publishSignal(env, s);
    const posts = () => env.sim.broker.orders.length;
    const before = posts();
    // The executor takes the signals within milliseconds; their POSTs are then 600 ms from the broker.
    await new Promise((r) => setTimeout(r, 250));
    expect(posts()).toBe(before);
    const reply = await request(env, commands.executorFlatten, { ...command, incidentId: 'in-flight' });
    expect(reply).toMatchObject({ ok: true, failed: [], halt: { halted: true } });
    // Whatever was on its way when the flatten was asked is closed by it; nothing is placed after it.
    const afterFlatten = posts();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(posts()).toBe(afterFlatten);
    expect(await openPositions(env)).toEqual([]);
    expect(afterFlatten).toBeGreaterThan(before);
    const late = signals.filter((s) => eventsFor(env, s.id).some((e) => e.event === 'skipped'));
    const placed = signals.filter((s) => eventsFor(env, s.id).some((e) => e.event === 'submitted'));
    expect(late.length + placed.length).toBe(3);
  } finally {
    await clearFaults(env, 'rest_slow');
    await ex.close();
  }
});
