import { ApiError, RateLimitError, ValidationError } from '@alpacahq/alpaca-trade-api';
import { Metrics } from '@vigil/service-kit';
import { captureLogger } from '@vigil/service-kit/testing';
import { describe, expect, it } from 'vitest';
import { brokerCaller } from './broker-call.js';
import { BrokerError } from './broker-errors.js';

const res = (status: number) => new Response(null, { status });

function setup(maxAttempts = 4) {
  const waits: number[] = [];
  const { logger, lines } = captureLogger();
  const call = brokerCaller({
    policy: { initialMs: 100, maxMs: 1_000 },
    maxAttempts,
    logger,
    metrics: new Metrics('executor', { defaultMetrics: false }),
    sleep: async (ms) => waits.push(ms),
    random: () => 1,
  });
  return { call, waits, lines };
}

function failing(errors: unknown[], value = 'ok') {
  let i = 0;
  return async () => {
    if (i < errors.length) throw errors[i++];
    return value;
  };
}

describe('brokerCaller', () => {
  it('honours Retry-After on 429 and backs off on 5xx, then succeeds', async () => {
    const { call, waits, lines } = setup();
    const op = failing([
      new RateLimitError(res(429), 429, undefined, 'slow down', undefined, 3_000),
      new ApiError(res(502), 502, undefined, 'bad gateway'),
    ]);
    await expect(call('get order', op)).resolves.toBe('ok');
    expect(waits).toEqual([3_000, 200]);
    expect(lines().filter((l) => /retrying/.test(String(l.msg)))).toHaveLength(2);
  });

  it('gives up after maxAttempts with a BrokerError naming the last failure', async () => {
    const { call, waits, lines } = setup(3);
    const err = new ApiError(res(503), 503, undefined, 'down');
    const p = call('close all positions', failing([err, err, err, err]));
    await expect(p).rejects.toBeInstanceOf(BrokerError);
    await expect(p).rejects.toMatchObject({ failure: { kind: 'transient', status: 503 } });
    expect(waits).toHaveLength(2);
    expect(lines().some((l) => l.msg === 'close all positions: giving up after 3 attempts')).toBe(true);
  });

  it('does not retry a rejection or a duplicate', async () => {
    const { call, waits } = setup();
    await expect(
      call('post order', failing([new ApiError(res(403), 403, undefined, 'insufficient buying power')])),
    ).rejects.toMatchObject({
      failure: { kind: 'rejected', message: 'insufficient buying power' },
    });
    await expect(
      call('post order', failing([new ValidationError(res(422), 422, undefined, 'client_order_id must be unique')])),
    ).rejects.toMatchObject({
      failure: { kind: 'duplicate' },
    });
    expect(waits).toEqual([]);
  });
});
