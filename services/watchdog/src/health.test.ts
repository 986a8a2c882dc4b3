import { describe, expect, it } from 'vitest';
import { watchdogHealth, type HealthView } from './health.js';

const calm: HealthView = {
  phase: 'open',
  gateway: { up: true, state: 'streaming', instanceId: 'market-gateway-1', lastHeartbeatAgeMs: 400, standbys: [] },
  barsPerMinute: 3,
  lastBarAgeMs: 2_000,
  reconnects: 1,
  uptimePct: 99.9,
  openAlerts: 0,
  executorHalted: false,
  incident: null,
  feed: { dataPath: 'live', liveDownForMs: null },
  degraded: null,
  unmanaged: null,
};

describe('watchdogHealth', () => {
  it('is ok with nothing open: its figures, and the market phase as a note', () => {
    expect(watchdogHealth(calm)).toEqual({
      status: 'ok',
      figures: {
        barsPerMinute: 3,
        lastBarAgeMs: 2_000,
        reconnects: 1,
        uptimePct: 99.9,
        openAlerts: 0,
        executorHalted: 0,
      },
      notes: ['market open'],
    });
  });

  it('is degraded while incidents are open, naming each', () => {
    const h = watchdogHealth({
      ...calm,
      openAlerts: 4,
      executorHalted: true,
      gateway: { ...calm.gateway, up: false },
      incident: {
        id: 'stale-1',
        staleSince: '2026-12-01T14:30:00.000Z',
        staleForMs: 200_000,
        halt: 'done',
        flatten: 'none',
        freshSince: null,
      },
      feed: { dataPath: 'polling', liveDownForMs: 300_000 },
      degraded: { id: 'degraded-1', since: '2026-12-01T14:28:00.000Z', critical: false, halt: 'none' },
      unmanaged: {
        id: 'unmanaged-1',
        openedAt: '2026-12-01T14:29:00.000Z',
        symbols: ['SPY', 'AAPL'],
        halt: 'none',
        flatten: 'none',
      },
    });
    expect(h.status).toBe('degraded');
    expect(h.figures).toMatchObject({ openAlerts: 4, executorHalted: 1 });
    expect(h.notes).toEqual([
      'stale-data incident stale-1 open',
      'no gateway heartbeat',
      'feed degraded: live stream down (polling carries the data)',
      'positions unmanaged: SPY, AAPL',
      'market open',
    ]);
  });
});
