import { describe, expect, it } from 'vitest';
import { executorHealth } from './health.js';
import { NOT_HALTED } from '@vigil/contracts';

const NOW = Date.parse('2026-12-01T14:31:00Z');

describe('executorHealth', () => {
  it('is ok while trading: its open and placed orders, and when the watchdog was last heard', () => {
    expect(
      executorHealth({ halt: NOT_HALTED, openOrders: 2, ordersPlaced: 7, watchdogHeardAt: NOW - 4_000, now: NOW }),
    ).toEqual({
      status: 'ok',
      figures: { halted: 0, flattened: 0, openOrders: 2, ordersPlaced: 7, watchdogHeardAgoMs: 4_000 },
      notes: [],
    });
  });

  it('is degraded while halted, saying who halted, since when and why', () => {
    const h = executorHealth({
      halt: {
        halted: true,
        since: '2026-12-01T14:20:00Z',
        reason: 'stale data 5 min',
        incidentId: 'stale-1',
        by: 'watchdog',
        flattened: true,
      },
      openOrders: 0,
      ordersPlaced: 0,
      watchdogHeardAt: null,
      now: NOW,
    });
    expect(h).toMatchObject({ status: 'degraded', figures: { halted: 1, flattened: 1, watchdogHeardAgoMs: null } });
    expect(h.notes).toEqual(['halted by watchdog since 2026-12-01T14:20:00Z: stale data 5 min (positions flattened)']);
  });
});
