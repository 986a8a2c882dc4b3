import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { kvBuckets, signalSubject } from '@vigil/contracts';
import { waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsFor, freshSignal, ordersFor, publishSignal, startEnv, startExecutor, type Env } from './harness.js';

let env: Env;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => env?.stop());

describe('signals become orders', () => {
  it('places exactly one order for a signal delivered three times, across a restart, its events naming the bar source', async () => {
    let ex = await startExecutor(env);
    const s = freshSignal(env, 'SPY', 'buy', 5, { barSource: 'poll' });
    await publishSignal(env, s);
    await publishSignal(env, s, { dedup: false });
    await waitFor('fill of the order', () => eventsFor(env, s.id).some((e) => e.event === 'filled'));
    await waitFor(
      'second copy handled',
      () => ex.lines().filter((l) => l.msg === 'signal already has an order at the broker; nothing sent').length === 1,
    );
    expect(ex.health()).toMatchObject({ status: 'ok', figures: { halted: 0, ordersPlaced: 1 }, notes: [] });
    await ex.close();
    // Logged once per publish: a loaded server can time out the first publish's ack and the retry logs again
    // (its msg id keeps ORDERS to one `submitted` event); one order at the broker and one event are checked below.
    expect(ex.lines().some((l) => l.msg === 'order submitted (poll bar)')).toBe(true);

    // A fresh process knows nothing in memory: the broker refuses the reused client_order_id for the third copy.
    ex = await startExecutor(env);
    await publishSignal(env, s, { dedup: false });
    await waitFor('third copy handled', () =>
      ex.lines().some((l) => l.msg === 'broker already had this order (client_order_id in use); counted as placed'),
    );
    await ex.close();

    expect(ordersFor(env, s.id)).toHaveLength(1);
    expect(ordersFor(env, s.id)[0]).toMatchObject({ symbol: 'SPY', side: 'buy', qty: '5', type: 'market' });
    const kinds = eventsFor(env, s.id).map((e) => e.event);
    expect(kinds.filter((k) => k === 'submitted')).toHaveLength(1);
    expect(kinds).toContain('filled');
    expect(eventsFor(env, s.id).find((e) => e.event === 'filled')).toMatchObject({
      filledQty: 5,
      clientOrderId: s.id,
      orderId: ordersFor(env, s.id)[0]!.id,
    });
    expect(eventsFor(env, s.id).map((e) => `${e.event}:${e.barSource}`)).toEqual(
      expect.arrayContaining(['submitted:poll', 'filled:poll']),
    );
    expect(eventsFor(env, s.id).every((e) => e.barSource === 'poll')).toBe(true);
  });

  it('rejects what the limits forbid and says why', async () => {
    // The order above counts for a minute, across restarts (KV rate.sent): start this one with an empty window.
    await (await new Kvm(env.nc).open(kvBuckets.executorState.name)).delete('rate.sent');
    const ex = await startExecutor(env, { MAX_ORDER_NOTIONAL: 1_000, MAX_POSITION_QTY: 8, MAX_ORDERS_PER_MINUTE: 1 });
    // SPY already holds 5 from the test above.
    const notional = freshSignal(env, 'AAPL', 'buy', 20, { price: 100, barSource: 'backfill' });
    const position = freshSignal(env, 'SPY', 'buy', 4, { price: 10, strategy: 'momentum' });
    const stale = freshSignal(env, 'MSFT', 'buy', 1, { barAgoMin: 10 });
    const ok = freshSignal(env, 'QQQ', 'buy', 1, { price: 10 });
    const rate = freshSignal(env, 'MSFT', 'buy', 1, { price: 10 });
    for (const s of [notional, position, stale, ok, rate]) await publishSignal(env, s);
    await waitFor('rejections', () =>
      [notional, position, stale, rate].every((s) => eventsFor(env, s.id).some((e) => e.event === 'rejected')),
    );
    await waitFor('the allowed order', () => eventsFor(env, ok.id).some((e) => e.event === 'submitted'));
    await ex.close();

    const reason = (id: string) => eventsFor(env, id).find((e) => e.event === 'rejected')!.reason;
    expect(reason(notional.id)).toMatch(/MAX_ORDER_NOTIONAL 1000/);
    expect(reason(position.id)).toMatch(
      /long position could reach 9 \(held 5, open buys 0, this buy 4\), over MAX_POSITION_QTY 8/,
    );
    expect(reason(stale.id)).toMatch(/MAX_SIGNAL_AGE_MS/);
    expect(reason(rate.id)).toMatch(/MAX_ORDERS_PER_MINUTE 1/);
    for (const s of [notional, position, stale, rate]) expect(ordersFor(env, s.id)).toHaveLength(0);
    expect(eventsFor(env, notional.id).find((e) => e.event === 'rejected')!.barSource).toBe('backfill');
    expect(ex.lines().some((l) => l.msg === `order rejected (backfill bar): ${reason(notional.id)}`)).toBe(true);
  });

  it('rejects a signal for a symbol not in SYMBOLS, and sends nothing', async () => {
    const ex = await startExecutor(env, { SYMBOLS: ['SPY', 'QQQ'] });
    const other = freshSignal(env, 'AAPL', 'buy', 1, { strategy: 'unlisted' });
    await publishSignal(env, other);
    await waitFor('the signal decided', () =>
      eventsFor(env, other.id).some((e) => e.event === 'rejected' || e.event === 'submitted'),
    );
    await ex.close();
    expect(ordersFor(env, other.id)).toHaveLength(0);
    expect(eventsFor(env, other.id).map((e) => `${e.event}: ${e.reason}`)).toEqual([
      'rejected: symbol AAPL is not in SYMBOLS (SPY,QQQ); the executor trades only those',
    ]);
  });

  it('terminates and logs a malformed signal, and carries on', async () => {
    const ex = await startExecutor(env);
    await jetstream(env.nc).publish(signalSubject('SPY'), JSON.stringify({ v: 1, id: 'nope', symbol: 'SPY' }));
    const s = freshSignal(env, 'QQQ', 'buy', 1, { strategy: 'momentum' });
    await publishSignal(env, s);
    await waitFor('the next signal', () => eventsFor(env, s.id).some((e) => e.event === 'submitted'));
    await ex.close();
    const bad = ex.lines().filter((l) => l.msg === 'malformed signal; dropping it (terminated, never redelivered)');
    expect(bad).toHaveLength(1);
    expect(String((bad[0]!.err as { message: string }).message)).toMatch(/invalid Signal on "strategy.signals.SPY"/);
  });
});
