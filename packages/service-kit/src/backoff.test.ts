import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay } from './backoff.js';

const policy = { initialMs: 1000, maxMs: 30_000 };

describe('backoff', () => {
  it('doubles the ceiling per attempt up to the maximum', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((a) => backoffCeiling(policy, a))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });

  it('draws uniformly between zero and the ceiling (full jitter)', () => {
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(4000);
    expect(backoffDelay(policy, 3, () => 0.999999)).toBe(8000);
    expect(backoffDelay(policy, 1000, () => 1)).toBe(30_000);
  });
});
