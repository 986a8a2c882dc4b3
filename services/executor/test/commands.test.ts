import { Kvm } from '@nats-io/kv';
import { commands, decodeAs, kvBuckets } from '@vigil/contracts';
import { waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clearFaults,
  command,
  eventsFor,
  freshSignal,
  injectFault,
  openPositions,
  ordersFor,
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

const buy = (symbol: string, qty: number) =>
  env.sim.broker.submit({ symbol, side: 'buy', type: 'market', time_in_force: 'day', qty: String(qty) });

describe('commands', () => {
  it('answers $SRV.PING as the NATS service "executor"', async () => {
    const ex = await startExecutor(env);
    const m = await env.nc.request('$SRV.PING.executor', '', { timeout: 2_000 });
    expect(m.json()).toMatchObject({ type: 'io.nats.micro.v1.ping_response', name: 'executor' });
    await ex.close();
  });

  it('halts (skipping signals, surviving a restart) and resumes', async () => {
    let ex = await startExecutor(env);
    const halted = await request(env, commands.executorHalt, { ...command, incidentId: 'inc-halt' });
    expect(halted).toMatchObject({
      ok: true,
      halt: { halted: true, reason: 'integration test', incidentId: 'inc-halt' },
    });
    expect(ex.health()).toMatchObject({ status: 'degraded', figures: { halted: 1 } });
    expect(ex.health().notes[0]).toMatch(/^halted by .*: integration test$/);
    const s1 = freshSignal(env, 'SPY', 'buy', 1, { barSource: 'poll' });
    await publishSignal(env, s1);
    await waitFor('skipped event', () => eventsFor(env, s1.id).some((e) => e.event === 'skipped'));
    expect(eventsFor(env, s1.id)[0]!.reason).toMatch(/executor halted since .*: integration test/);
    expect(eventsFor(env, s1.id)[0]!.barSource).toBe('poll');
    await ex.close();

    ex = await startExecutor(env);
    expect(ex.halt.current()).toMatchObject({ halted: true, incidentId: 'inc-halt' });
    // Sent raw: requestCommand would refuse to send a request without a reason.
    const raw = await env.nc.request(commands.executorResume.subject, JSON.stringify({ v: 1, requestedBy: 'test' }), {
      timeout: 15_000,
    });
    const bad = decodeAs(commands.executorResume.reply, commands.executorResume.subject, raw.data);
    expect(bad.ok && bad.value).toMatchObject({
      ok: false,
      error: expect.stringMatching(/reason/),
      halt: { halted: true },
    });
    expect(ex.lines().filter((l) => l.msg === 'resume request refused: it does not match its schema')).toHaveLength(1);
    const resumed = await request(env, commands.executorResume, command);
    expect(resumed).toMatchObject({ ok: true, halt: { halted: false, since: null } });
    const s2 = freshSignal(env, 'SPY', 'buy', 1, { strategy: 'momentum' });
    await publishSignal(env, s2);
    await waitFor('order after resume', () => eventsFor(env, s2.id).some((e) => e.event === 'submitted'));
    expect(ordersFor(env, s1.id)).toHaveLength(0);
    await ex.close();
  });

  it('flattens everything in the simulated book, halts, and does nothing on a second flatten for the incident', async () => {
    buy('MSFT', 5);
    buy('QQQ', 10);
    env.sim.broker.submit({
      symbol: 'AAPL',
      side: 'buy',
      type: 'limit',
      limit_price: '1',
      time_in_force: 'day',
      qty: '1',
    });
    const ex = await startExecutor(env);
    expect(await openPositions(env)).toEqual(['MSFT:5', 'QQQ:10', 'SPY:1']);
    const reply = await request(env, commands.executorFlatten, { ...command, incidentId: 'inc-1' });
    expect(reply).toMatchObject({
      ok: true,
      scope: 'vigil',
      alreadyFlat: false,
      canceledOrders: 1,
      failed: [],
      halt: { halted: true, incidentId: 'inc-1' },
    });
    expect(reply.closed.map((c) => `${c.symbol}:${c.qty}`).sort()).toEqual(['MSFT:5', 'QQQ:10', 'SPY:1']);
    expect(reply.closed.every((c) => c.orderId)).toBe(true);
    await waitFor('an empty book', async () => (await openPositions(env)).length === 0);
    await waitFor(
      'fills of the closing orders',
      () => env.events.filter((e) => e.event === 'filled' && e.side === 'sell').length === 3,
    );
    // No signal asked for the closing orders, so no bar is behind them.
    expect(env.events.filter((e) => e.side === 'sell').every((e) => e.signalId === null && e.barSource === null)).toBe(
      true,
    );

    const orders = env.sim.broker.orders.length;
    const again = await request(env, commands.executorFlatten, { ...command, incidentId: 'inc-1' });
    expect(again).toMatchObject({ ok: true, alreadyFlat: true, closed: [], canceledOrders: 0, halt: { halted: true } });
    expect(env.sim.broker.orders.length).toBe(orders);
    await ex.close();
  });

  it('finishes a flatten interrupted by a restart', async () => {
    buy('SPY', 3);
    const ex = await startExecutor(env);
    await injectFault(env, { kind: 'rest_error', scope: 'trading', status: 503, retryAfterSec: 0 });
    const reply = await request(env, commands.executorFlatten, { ...command, incidentId: 'inc-2' });
    expect(reply).toMatchObject({
      ok: false,
      error: expect.stringMatching(/HTTP 503/),
      alreadyFlat: false,
      halt: { halted: true },
    });
    await ex.close(); // the process dies with the flatten unfinished

    const kv = await new Kvm(env.nc).open(kvBuckets.executorState.name);
    expect((await kv.get('flatten.active'))?.json()).toMatchObject({ incidentId: 'inc-2' });
    await clearFaults(env, 'rest_error');
    expect(await openPositions(env)).toEqual(['SPY:3']);
    const restarted = await startExecutor(env);
    await waitFor('the flatten to finish', () =>
      restarted.lines().some((l) => l.msg === 'flatten complete; executor stays halted'),
    );
    expect(restarted.lines().some((l) => l.msg === 'found an interrupted flatten; halting and finishing it')).toBe(
      true,
    );
    await waitFor('an empty book', async () => (await openPositions(env)).length === 0);
    expect((await kv.get('flatten.active'))?.operation).not.toBe('PUT');
    const again = await request(env, commands.executorFlatten, { ...command, incidentId: 'inc-2' });
    expect(again).toMatchObject({ ok: true, alreadyFlat: true });
    await restarted.close();
  });
});
