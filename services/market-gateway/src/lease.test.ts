import { describe, expect, it } from 'vitest';
import { fenceMarginMs, holdsLease, leaseTickMs, standbyMove } from './lease.js';

describe('holdsLease', () => {
  it.each([
    ['never written', null, 0, false],
    ['just renewed', 1000, 1000, true],
    ['a renewal missed (one tick late)', 1000, 1000 + 3333, true],
    ['inside the fence margin before the TTL', 1000, 1000 + 4000, false],
    ['past the TTL (frozen, cut off)', 1000, 1000 + 60_000, false],
  ])('%s', (_, sentAt, now, expected) => {
    expect(holdsLease(sentAt, now, 5000)).toBe(expected);
  });

  it('stops acting at least 250 ms before the entry can age out, and a fifth of the TTL for long ones', () => {
    expect(fenceMarginMs(1000)).toBe(250);
    expect(fenceMarginMs(5000)).toBe(1000);
    expect(leaseTickMs(5000)).toBe(1666);
  });
});

describe('standbyMove', () => {
  it('takes a free lease', () => {
    expect(standbyMove({ held: false }, 'gw-a')).toEqual({ move: 'take' });
  });

  it("reclaims its own replica's lease at once (that replica restarted), by its revision", () => {
    expect(standbyMove({ held: true, replicaId: 'gw-a', revision: 7 }, 'gw-a')).toEqual({
      move: 'reclaim',
      revision: 7,
    });
  });

  it("waits for another replica's lease to age out", () => {
    expect(standbyMove({ held: true, replicaId: 'gw-b', revision: 7 }, 'gw-a')).toEqual({
      move: 'wait',
      holder: 'gw-b',
    });
  });
});
