import { describe, expect, it } from 'vitest';
import { newRepairs } from './data-repaired.js';

const none = { missing: 0, revised: 0 };

describe('newRepairs', () => {
  it.each([
    ['first heartbeat the watchdog sees: a baseline', null, 'g1', { missing: 3, revised: 1 }, null],
    [
      'same totals: nothing new',
      { instanceId: 'g1', audit: { missing: 3, revised: 1 } },
      'g1',
      { missing: 3, revised: 1 },
      null,
    ],
    ['more missing', { instanceId: 'g1', audit: none }, 'g1', { missing: 2, revised: 0 }, { missing: 2, revised: 0 }],
    [
      'more revised',
      { instanceId: 'g1', audit: { missing: 2, revised: 0 } },
      'g1',
      { missing: 2, revised: 1 },
      { missing: 0, revised: 1 },
    ],
    [
      'a new gateway process: its totals are new',
      { instanceId: 'g1', audit: { missing: 5, revised: 5 } },
      'g2',
      { missing: 1, revised: 0 },
      { missing: 1, revised: 0 },
    ],
    ['a new gateway process with none', { instanceId: 'g1', audit: { missing: 5, revised: 5 } }, 'g2', none, null],
  ] as const)('%s', (_, prev, instanceId, audit, expected) => {
    expect(newRepairs(prev, instanceId, audit)).toEqual(expected);
  });
});
