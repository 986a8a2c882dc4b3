import { commands } from '@vigil/contracts';
import { waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clearFaults,
  command,
  eventsFor,
  freshSignal,
  injectFault,
  ordersFor,
  publishSignal,
  request,
  startEnv,
  startExecutor,
  type Env,
  type RunningExecutor,
} from './harness.js';

let env: Env;
let ex: RunningExecutor;
beforeAll(async () => {
  env = await startEnv();
  // Shorts allowed, so a sell with nothing held reaches the broker: a cash account, which refuses it (403).
  ex = await startExecutor(env, { ALLOW_SHORT: true });
});
afterAll(async () => {
  await ex?.close();
  await env?.stop();
});

const retries = (kind: string) =>
  ex
    .lines()
    .filter(
      (l) => l.msg === `find order by client id: ${kind}; retrying` || l.msg === `submit order: ${kind}; retrying`,
    );

describe('broker errors are retried or reported, never swallowed', () => {
  it('waits out a 429 for at least its Retry-After, then places the order once', async () => {
    await injectFault(env, {
      kind: 'rest_error',
      scope: 'trading',
      route: 'POST /v2/orders',
      status: 429,
      retryAfterSec: 1,
      count: 1,
    });
    const s = freshSignal(env, 'SPY', 'buy', 2);
    await publishSignal(env, s);
    await waitFor('the order', () => eventsFor(env, s.id).some((e) => e.event === 'submitted'));
    expect(retries('rate_limited')).toHaveLength(1);
    expect(retries('rate_limited')[0]!.delayMs).toBeGreaterThanOrEqual(1_000);
    expect(ordersFor(env, s.id)).toHaveLength(1);
  });

  it('retries 5xx with backoff, then places the order once', async () => {
    // Only the order POST fails: the order tracker's polls and clock reads must not use up the two errors.
    await injectFault(env, { kind: 'rest_error', scope: 'trading', route: 'POST /v2/orders', status: 500, count: 2 });
    const s = freshSignal(env, 'QQQ', 'buy', 1);
    await publishSignal(env, s);
    await waitFor('the order', () => eventsFor(env, s.id).some((e) => e.event === 'submitted'));
    expect(retries('transient')).toHaveLength(2);
    expect(ordersFor(env, s.id)).toHaveLength(1);
  });

  it('reports an order the broker rejects, with its reason, and does not retry it', async () => {
    const s = freshSignal(env, 'MSFT', 'sell', 50); // no MSFT held, and the account cannot short
    await publishSignal(env, s);
    await waitFor('the rejection', () => eventsFor(env, s.id).some((e) => e.event === 'rejected'));
    expect(eventsFor(env, s.id).find((e) => e.event === 'rejected')!.reason).toMatch(
      /broker rejected the order \(HTTP 403\): insufficient qty available/,
    );
    expect(ordersFor(env, s.id)).toHaveLength(0);
  });

  it('reports a broker outage as failed, and places the order once the broker is back', async () => {
    await injectFault(env, { kind: 'rest_error', scope: 'trading', status: 503, retryAfterSec: 0 });
    const s = freshSignal(env, 'AAPL', 'buy', 1);
    await publishSignal(env, s);
    await waitFor('the failure report', () => eventsFor(env, s.id).some((e) => e.event === 'failed'));
    expect(eventsFor(env, s.id).find((e) => e.event === 'failed')!.reason).toMatch(/HTTP 503.*will retry/);
    expect(ex.lines().some((l) => l.msg === 'submit order: giving up after 4 attempts')).toBe(true);
    await clearFaults(env, 'rest_error');
    await waitFor('the order after the outage', () => eventsFor(env, s.id).some((e) => e.event === 'submitted'));
    expect(ordersFor(env, s.id)).toHaveLength(1);
  });

  it('sends nothing after a halt acknowledged while a 429 was waited out, and skips the signal as halted', async () => {
    const waited = retries('rate_limited').length;
    await injectFault(env, { kind: 'rest_error', scope: 'trading', status: 429, retryAfterSec: 1 });
    const s = freshSignal(env, 'IWM', 'buy', 1);
    await publishSignal(env, s);
    await waitFor('the POST to be rate limited', () => retries('rate_limited').length > waited);
    // Within the 1 s Retry-After: halt, and let the next attempt through to the broker.
    const halted = await request(env, commands.executorHalt, { ...command, incidentId: 'inc-429' });
    expect(halted).toMatchObject({ ok: true, halt: { halted: true } });
    await clearFaults(env, 'rest_error');
    try {
      await waitFor('the signal to be decided', () =>
        eventsFor(env, s.id).some((e) => e.event === 'skipped' || e.event === 'submitted'),
      );
      expect(ordersFor(env, s.id)).toHaveLength(0);
      expect(eventsFor(env, s.id).map((e) => e.event)).toEqual(['skipped']);
      expect(eventsFor(env, s.id)[0]!.reason).toMatch(/executor halted since .*: integration test/);
      expect(
        ex
          .lines()
          .filter(
            (l) =>
              l.signalId === s.id && l.msg === 'executor halted while the signal was being handled; order not sent',
          ),
      ).toHaveLength(1);
    } finally {
      await request(env, commands.executorResume, command);
    }
  });
});
