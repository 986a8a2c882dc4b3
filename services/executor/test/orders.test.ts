import { jetstream } from '@nats-io/jetstream';
import { signalSubject } from '@vigil/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsFor, freshSignal, ordersFor, publishSignal, startEnv, startExecutor, waitFor, type Env } from './harness.js';

let env: Env;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => env?.stop());

describe('signals become orders', () => {
  it('places exactly one order for a signal delivered three times, across a restart', async () => {
    let ex = await startExecutor(env);
    const s = freshSignal(env, 'SPY', 'buy', 5);
    await publishSignal(env, s);
    await publishSignal(env, s, { dedup: false });
    await waitFor(() => eventsFor(env, s.id).some((e) => e.event === 'filled'), 'fill of the order');
    await waitFor(() => ex.lines().filter((l) => l.msg === 'signal already has an order at the broker; nothing sent').length === 1, 'second copy handled');
    await ex.close();

    // A fresh process knows nothing in memory: the broker refuses the reused client_order_id for the third copy.
    ex = await startExecutor(env);
    await publishSignal(env, s, { dedup: false });
    await waitFor(() => ex.lines().some((l) => l.msg === 'broker already had this order (client_order_id in use); counted as placed'), 'third copy handled');
    await ex.close();

    expect(ordersFor(env, s.id)).toHaveLength(1);
    expect(ordersFor(env, s.id)[0]).toMatchObject({ symbol: 'SPY', side: 'buy', qty: '5', type: 'market' });
    const kinds = eventsFor(env, s.id).map((e) => e.event);
    expect(kinds.filter((k) => k === 'submitted')).toHaveLength(1);
    expect(kinds).toContain('filled');
    expect(eventsFor(env, s.id).find((e) => e.event === 'filled')).toMatchObject({ filledQty: 5, clientOrderId: s.id, orderId: ordersFor(env, s.id)[0]!.id });
  });

  it('rejects what the limits forbid and says why', async () => {
    const ex = await startExecutor(env, { MAX_ORDER_NOTIONAL: 1_000, MAX_POSITION_QTY: 8, MAX_ORDERS_PER_MINUTE: 1 });
    // SPY already holds 5 from the test above.
    const notional = freshSignal(env, 'AAPL', 'buy', 20, { price: 100 });
    const position = freshSignal(env, 'SPY', 'buy', 4, { price: 10, strategy: 'momentum' });
    const stale = freshSignal(env, 'MSFT', 'buy', 1, { barAgoMin: 10 });
    const ok = freshSignal(env, 'QQQ', 'buy', 1, { price: 10 });
    const rate = freshSignal(env, 'MSFT', 'buy', 1, { price: 10 });
    for (const s of [notional, position, stale, ok, rate]) await publishSignal(env, s);
    await waitFor(() => [notional, position, stale, rate].every((s) => eventsFor(env, s.id).some((e) => e.event === 'rejected')), 'rejections');
    await waitFor(() => eventsFor(env, ok.id).some((e) => e.event === 'submitted'), 'the allowed order');
    await ex.close();

    const reason = (id: string) => eventsFor(env, id).find((e) => e.event === 'rejected')!.reason;
    expect(reason(notional.id)).toMatch(/MAX_ORDER_NOTIONAL 1000/);
    expect(reason(position.id)).toMatch(/position would be 9 \(now 5\), over MAX_POSITION_QTY 8/);
    expect(reason(stale.id)).toMatch(/MAX_SIGNAL_AGE_MS/);
    expect(reason(rate.id)).toMatch(/MAX_ORDERS_PER_MINUTE 1/);
    for (const s of [notional, position, stale, rate]) expect(ordersFor(env, s.id)).toHaveLength(0);
    expect(ex.lines().some((l) => l.msg === 'order rejected: ' + reason(notional.id))).toBe(true);
  });

  it('terminates and logs a malformed signal, and carries on', async () => {
    const ex = await startExecutor(env);
    await jetstream(env.nc).publish(signalSubject('SPY'), JSON.stringify({ v: 1, id: 'nope', symbol: 'SPY' }));
    const s = freshSignal(env, 'QQQ', 'buy', 1, { strategy: 'momentum' });
    await publishSignal(env, s);
    await waitFor(() => eventsFor(env, s.id).some((e) => e.event === 'submitted'), 'the next signal');
    await ex.close();
    const bad = ex.lines().filter((l) => l.msg === 'malformed signal; dropping it (terminated, never redelivered)');
    expect(bad).toHaveLength(1);
    expect(String((bad[0]!.err as { message: string }).message)).toMatch(/invalid Signal on "strategy.signals.SPY"/);
  });
});
