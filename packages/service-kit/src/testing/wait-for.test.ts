import { describe, expect, it } from 'vitest';
import { waitFor, WaitForTimeoutError } from './wait-for.js';

describe('waitFor', () => {
  it('returns the first truthy value the probe gives', async () => {
    let calls = 0;
    const value = await waitFor('the third probe', () => (++calls >= 3 ? { calls } : undefined), { intervalMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it('awaits an async probe', async () => {
    let calls = 0;
    await expect(waitFor('an async probe to hold', async () => ++calls === 2, { intervalMs: 1 })).resolves.toBe(true);
  });

  it('names what it waited for and the timeout when it gives up', async () => {
    const err = await waitFor('the order to fill', () => false, { timeoutMs: 50, intervalMs: 5 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WaitForTimeoutError);
    expect(err).toMatchObject({
      what: 'the order to fill',
      timeoutMs: 50,
      message: 'timed out after 50 ms waiting for the order to fill',
    });
  });

  it('probes at least once, even with a zero timeout', async () => {
    let calls = 0;
    await expect(waitFor('a zero timeout', () => ++calls > 0, { timeoutMs: 0 })).resolves.toBe(true);
  });

  it('lets an error thrown by the probe through at once', async () => {
    const boom = new Error('probe failed');
    await expect(
      waitFor('a probe that throws', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });
});
