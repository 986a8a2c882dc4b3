import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Metrics } from './metrics.js';
import { RetryAborted, retry, retryDelay } from './retry.js';
import { captureLogger } from './testing/log-capture.js';

const policy = { initialMs: 100, maxMs: 1_000 };
const top = () => 0.999999; // draws the ceiling
const failing = (times: number, err: unknown = new Error('down')) => {
  let calls = 0;
  return vi.fn(async (attempt: number) => {
    calls++;
    if (calls <= times) throw err;
    return `ok on ${attempt}`;
  });
};

describe('retry', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('counts attempts from 1 and waits the jittered backoff between them', async () => {
    const op = failing(2);
    const done = retry(op, { label: 'op', policy, random: top });
    await vi.advanceTimersByTimeAsync(99);
    expect(op).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1); // attempt 1 failed: up to 100 ms
    expect(op).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(200); // attempt 2 failed: up to 200 ms
    await expect(done).resolves.toBe('ok on 3');
    expect(op.mock.calls.map((c) => c[0])).toEqual([1, 2, 3]);
  });

  it('gives up after maxAttempts in all, rethrowing the last error as is', async () => {
    const err = new Error('still down');
    const op = failing(10, err);
    const done = retry(op, { label: 'op', policy, maxAttempts: 3, random: top });
    const settled = expect(done).rejects.toBe(err);
    await vi.advanceTimersByTimeAsync(10_000);
    await settled;
    expect(op).toHaveBeenCalledTimes(3);
  });

  it('never gives up when attempts are unlimited', async () => {
    const op = failing(50);
    const done = retry(op, { label: 'op', policy, random: top });
    await vi.advanceTimersByTimeAsync(60_000);
    await expect(done).resolves.toBe('ok on 51');
  });

  it('waits at least the floor, even when full jitter draws zero', async () => {
    const op = failing(1);
    const done = retry(op, { label: 'op', policy, floorMs: 100, random: () => 0 });
    await vi.advanceTimersByTimeAsync(99);
    expect(op).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(done).resolves.toBe('ok on 2');
    expect(retryDelay({ policy, random: () => 0 }, 1)).toBe(0);
    expect(retryDelay({ policy, floorMs: 100, random: () => 0 }, 5)).toBe(100);
  });

  it("honours the error's Retry-After when it is longer than the backoff", async () => {
    const op = failing(1, Object.assign(new Error('429'), { retryAfterMs: 5_000 }));
    const done = retry(op, {
      label: 'op',
      policy,
      random: top,
      retryAfterMs: (e) => (e as { retryAfterMs?: number }).retryAfterMs,
    });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(op).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(done).resolves.toBe('ok on 2');
    expect(retryDelay({ policy, random: top }, 1, 10)).toBe(100); // a shorter Retry-After does not cut the backoff
    expect(retryDelay({ policy, random: top }, 1, null)).toBe(100);
  });

  it('throws at once what the classifier says is not worth retrying', async () => {
    const fatal = new Error('rejected');
    const op = failing(1, fatal);
    const shouldRetry = vi.fn((e: unknown) => e !== fatal);
    await expect(retry(op, { label: 'op', policy, shouldRetry })).rejects.toBe(fatal);
    expect(op).toHaveBeenCalledTimes(1);
    expect(shouldRetry).toHaveBeenCalledWith(fatal, 1);
  });

  it('stops promptly with RetryAborted when aborted mid-wait', async () => {
    const op = failing(10);
    const ac = new AbortController();
    const done = retry(op, {
      label: 'reconcile',
      policy: { initialMs: 60_000, maxMs: 60_000 },
      random: top,
      signal: ac.signal,
    });
    const settled = expect(done).rejects.toSatisfy(
      (e) => e instanceof RetryAborted && e.attempts === 1 && e.message === 'reconcile: aborted after 1 attempt',
    );
    await vi.advanceTimersByTimeAsync(10);
    ac.abort();
    await vi.advanceTimersByTimeAsync(0);
    await settled;
    expect(op).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not start when already aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const op = failing(0);
    await expect(retry(op, { label: 'op', policy, signal: ac.signal })).rejects.toBeInstanceOf(RetryAborted);
    expect(op).not.toHaveBeenCalled();
  });

  it('logs and counts each retry once, with its reason and delay, under the given label', async () => {
    const { logger, lines } = captureLogger();
    const metrics = new Metrics('test', { defaultMetrics: false });
    const onRetry = vi.fn();
    const done = retry(failing(2), { label: 'backfill', policy, random: top, logger, metrics, onRetry });
    await vi.advanceTimersByTimeAsync(1_000);
    await done;
    const retries = lines().filter((l) => l.msg === 'backfill: retrying');
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatchObject({ attempt: 1, delayMs: 100, err: { message: 'down' } });
    expect(retries[1]).toMatchObject({ attempt: 2, delayMs: 200 });
    expect(onRetry.mock.calls.map((c) => c[0].attempt)).toEqual([1, 2]);
    expect(await metrics.registry.getSingleMetricAsString('vigil_retries_total')).toContain(
      'vigil_retries_total{operation="backfill",service="test"} 2',
    );
  });

  it('takes a custom message, level and fields for the log line', async () => {
    const { logger, lines } = captureLogger();
    const done = retry(failing(1), {
      label: 'x',
      policy,
      random: top,
      logger,
      level: 'error',
      message: (i) => `try ${i.attempt + 1}`,
      fields: (i) => ({ waitMs: i.delayMs }),
    });
    await vi.advanceTimersByTimeAsync(100);
    await done;
    expect(lines()).toEqual([expect.objectContaining({ msg: 'try 2', waitMs: 100, level: 50 })]);
  });
});
