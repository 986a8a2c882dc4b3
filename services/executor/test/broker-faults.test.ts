import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearFaults, eventsFor, freshSignal, injectFault, ordersFor, publishSignal, startEnv, startExecutor, waitFor, type Env, type RunningExecutor } from './harness.js';

let env: Env;
let ex: RunningExecutor;
beforeAll(async () => {
  env = await startEnv();
  ex = await startExecutor(env);
});
afterAll(async () => {
  await ex?.close();
  await env?.stop();
});

const retries = (kind: string) => ex.lines().filter((l) => l.msg === `find order by client id: ${kind}; retrying` || l.msg === `submit order: ${kind}; retrying`);

describe('broker errors are retried or reported, never swallowed', () => {
  it('waits out a 429 for at least its Retry-After, then places the order once', async () => {
    await injectFault(env, { kind: 'rest_error', scope: 'trading', status: 429, retryAfterSec: 1, count: 1 });
    const s = freshSignal(env, 'SPY', 'buy', 2);
    await publishSignal(env, s);
    await waitFor(() => eventsFor(env, s.id).some((e) => e.event === 'submitted'), 'the order');
    expect(retries('rate_limited')).toHaveLength(1);
    expect(retries('rate_limited')[0]!.delayMs).toBeGreaterThanOrEqual(1_000);
    expect(ordersFor(env, s.id)).toHaveLength(1);
  });

  it('retries 5xx with backoff, then places the order once', async () => {
    await injectFault(env, { kind: 'rest_error', scope: 'trading', status: 500, count: 2 });
    const s = freshSignal(env, 'QQQ', 'buy', 1);
    await publishSignal(env, s);
    await waitFor(() => eventsFor(env, s.id).some((e) => e.event === 'submitted'), 'the order');
    expect(retries('transient')).toHaveLength(2);
    expect(ordersFor(env, s.id)).toHaveLength(1);
  });

  it('reports an order the broker rejects, with its reason, and does not retry it', async () => {
    const s = freshSignal(env, 'MSFT', 'sell', 50); // no MSFT held, and the account cannot short
    await publishSignal(env, s);
    await waitFor(() => eventsFor(env, s.id).some((e) => e.event === 'rejected'), 'the rejection');
    expect(eventsFor(env, s.id).find((e) => e.event === 'rejected')!.reason).toMatch(/broker rejected the order \(HTTP 403\): insufficient qty available/);
    expect(ordersFor(env, s.id)).toHaveLength(0);
  });

  it('reports a broker outage as failed, and places the order once the broker is back', async () => {
    await injectFault(env, { kind: 'rest_error', scope: 'trading', status: 503, retryAfterSec: 0 });
    const s = freshSignal(env, 'AAPL', 'buy', 1);
    await publishSignal(env, s);
    await waitFor(() => eventsFor(env, s.id).some((e) => e.event === 'failed'), 'the failure report');
    expect(eventsFor(env, s.id).find((e) => e.event === 'failed')!.reason).toMatch(/HTTP 503.*will retry/);
    expect(ex.lines().some((l) => l.msg === 'submit order: giving up after 4 attempts')).toBe(true);
    await clearFaults(env, 'rest_error');
    await waitFor(() => eventsFor(env, s.id).some((e) => e.event === 'submitted'), 'the order after the outage');
    expect(ordersFor(env, s.id)).toHaveLength(1);
  });
});
