import { Kvm } from '@nats-io/kv';
import { ExecutorFlattenReply, ExecutorHaltReply, kvBuckets, subjects } from '@vigil/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearFaults, command, eventsFor, freshSignal, injectFault, ordersFor, publishSignal, request, startEnv, startExecutor, waitFor, type Env } from './harness.js';

let env: Env;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => env?.stop());

const openPositions = async () => (await env.rest.positions.getAllOpenPositions()).map((p) => `${p.symbol}:${p.qty}`).sort();
const buy = (symbol: string, qty: number) => env.sim.broker.submit({ symbol, side: 'buy', type: 'market', time_in_force: 'day', qty: String(qty) });

describe('commands', () => {
  it('answers $SRV.PING as the NATS service "executor"', async () => {
    const ex = await startExecutor(env);
    const m = await env.nc.request('$SRV.PING.executor', '', { timeout: 2_000 });
    expect(m.json()).toMatchObject({ type: 'io.nats.micro.v1.ping_response', name: 'executor' });
    await ex.close();
  });

  it('halts (skipping signals, surviving a restart) and resumes', async () => {
    let ex = await startExecutor(env);
    const halted = await request(env, subjects.executorHalt, { ...command, incidentId: 'inc-halt' }, ExecutorHaltReply);
    expect(halted).toMatchObject({ ok: true, halt: { halted: true, reason: 'integration test', incidentId: 'inc-halt' } });
    const s1 = freshSignal(env, 'SPY', 'buy', 1);
    await publishSignal(env, s1);
    await waitFor(() => eventsFor(env, s1.id).some((e) => e.event === 'skipped'), 'skipped event');
    expect(eventsFor(env, s1.id)[0]!.reason).toMatch(/executor halted since .*: integration test/);
    await ex.close();

    ex = await startExecutor(env);
    expect(ex.halt.current()).toMatchObject({ halted: true, incidentId: 'inc-halt' });
    const bad = await request(env, subjects.executorResume, { v: 1, requestedBy: 'test' }, ExecutorHaltReply);
    expect(bad).toMatchObject({ ok: false, error: expect.stringMatching(/reason/), halt: { halted: true } });
    const resumed = await request(env, subjects.executorResume, command, ExecutorHaltReply);
    expect(resumed).toMatchObject({ ok: true, halt: { halted: false, since: null } });
    const s2 = freshSignal(env, 'SPY', 'buy', 1, { strategy: 'momentum' });
    await publishSignal(env, s2);
    await waitFor(() => eventsFor(env, s2.id).some((e) => e.event === 'submitted'), 'order after resume');
    expect(ordersFor(env, s1.id)).toHaveLength(0);
    await ex.close();
  });

  it('flattens everything in the simulated book, halts, and does nothing on a second flatten for the incident', async () => {
    buy('MSFT', 5);
    buy('QQQ', 10);
    env.sim.broker.submit({ symbol: 'AAPL', side: 'buy', type: 'limit', limit_price: '1', time_in_force: 'day', qty: '1' });
    const ex = await startExecutor(env);
    expect(await openPositions()).toEqual(['MSFT:5', 'QQQ:10', 'SPY:1']);
    const reply = await request(env, subjects.executorFlatten, { ...command, incidentId: 'inc-1' }, ExecutorFlattenReply);
    expect(reply).toMatchObject({ ok: true, alreadyFlat: false, canceledOrders: 1, failed: [], halt: { halted: true, incidentId: 'inc-1' } });
    expect(reply.closed.map((c) => `${c.symbol}:${c.qty}`).sort()).toEqual(['MSFT:5', 'QQQ:10', 'SPY:1']);
    expect(reply.closed.every((c) => c.orderId)).toBe(true);
    await waitFor(async () => (await openPositions()).length === 0, 'an empty book');
    await waitFor(() => env.events.filter((e) => e.event === 'filled' && e.side === 'sell').length === 3, 'fills of the closing orders');

    const orders = env.sim.broker.orders.length;
    const again = await request(env, subjects.executorFlatten, { ...command, incidentId: 'inc-1' }, ExecutorFlattenReply);
    expect(again).toMatchObject({ ok: true, alreadyFlat: true, closed: [], canceledOrders: 0, halt: { halted: true } });
    expect(env.sim.broker.orders.length).toBe(orders);
    await ex.close();
  });

  it('finishes a flatten interrupted by a restart', async () => {
    buy('SPY', 3);
    const ex = await startExecutor(env);
    await injectFault(env, { kind: 'rest_error', scope: 'trading', status: 503, retryAfterSec: 0 });
    const reply = await request(env, subjects.executorFlatten, { ...command, incidentId: 'inc-2' }, ExecutorFlattenReply);
    expect(reply).toMatchObject({ ok: false, error: expect.stringMatching(/HTTP 503/), alreadyFlat: false, halt: { halted: true } });
    await ex.close(); // the process dies with the flatten unfinished

    const kv = await new Kvm(env.nc).open(kvBuckets.executorState.name);
    expect((await kv.get('flatten.active'))?.json()).toMatchObject({ incidentId: 'inc-2' });
    await clearFaults(env, 'rest_error');
    expect(await openPositions()).toEqual(['SPY:3']);
    const restarted = await startExecutor(env);
    await waitFor(() => restarted.lines().some((l) => l.msg === 'flatten complete; executor stays halted'), 'the flatten to finish');
    expect(restarted.lines().some((l) => l.msg === 'found an interrupted flatten; halting and finishing it')).toBe(true);
    await waitFor(async () => (await openPositions()).length === 0, 'an empty book');
    expect((await kv.get('flatten.active'))?.operation).not.toBe('PUT');
    const again = await request(env, subjects.executorFlatten, { ...command, incidentId: 'inc-2' }, ExecutorFlattenReply);
    expect(again).toMatchObject({ ok: true, alreadyFlat: true });
    await restarted.close();
  });
});
