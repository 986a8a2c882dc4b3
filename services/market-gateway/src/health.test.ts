import type { GatewayHeartbeat } from '@vigil/contracts';
import { describe, expect, it } from 'vitest';
import { gatewayHealth } from './health.js';

const streaming: GatewayHeartbeat = {
  v: 1,
  service: 'market-gateway',
  instanceId: 'market-gateway-1a2b3c4d',
  seq: 7,
  sentAt: '2026-12-01T14:31:10.000Z',
  state: 'streaming',
  reason: 'receiving data',
  marketOpen: true,
  symbols: ['SPY'],
  connectedSince: '2026-12-01T14:00:00.000Z',
  lastMessageAt: '2026-12-01T14:31:09.000Z',
  lastBarAt: '2026-12-01T14:31:02.000Z',
  lastBarTBySymbol: { SPY: '2026-12-01T14:30:00.000Z' },
  barsLastMinute: 1,
  reconnects: 2,
  uptimePct: 99.5,
  polling: false,
  dataPath: 'live',
  dataPathSince: '2026-12-01T14:00:00.000Z',
  liveDownSince: null,
  bufferedBars: 0,
  bufferFill: 0,
  audit: { lastAuditAt: null, missing: 0, revised: 0 },
};

describe('gatewayHealth', () => {
  it('is ok while streaming live, with the key figures and the state and data path as notes', () => {
    expect(gatewayHealth(streaming)).toEqual({
      status: 'ok',
      figures: {
        streaming: 1,
        barsLastMinute: 1,
        reconnects: 2,
        bufferFill: 0,
        bufferedBars: 0,
        uptimePct: 99.5,
        lastBarAgeMs: 8_000,
        liveDownForMs: null,
      },
      notes: ['feed streaming: receiving data', 'data path live since 2026-12-01T14:00:00.000Z'],
    });
  });

  it('is degraded while bars do not come live: reconnecting, polling, or the buffer half full', () => {
    const polling = gatewayHealth({
      ...streaming,
      state: 'backoff',
      reason: 'connection lost; retrying in 2 s',
      dataPath: 'polling',
      liveDownSince: '2026-12-01T14:29:10.000Z',
    });
    expect(polling).toMatchObject({ status: 'degraded', figures: { streaming: 0, liveDownForMs: 120_000 } });
    expect(polling.notes).toEqual([
      'feed backoff: connection lost; retrying in 2 s',
      'data path polling since 2026-12-01T14:00:00.000Z',
    ]);
    expect(gatewayHealth({ ...streaming, dataPath: 'backfill' }).status).toBe('degraded');
    const full = gatewayHealth({ ...streaming, bufferedBars: 60_000, bufferFill: 0.6 });
    expect(full.status).toBe('degraded');
    expect(full.notes).toContain('bar buffer 60% full: NATS is refusing bars');
  });

  it('is down when only a person can help: keys rejected, a config error, the feed stopped', () => {
    for (const state of ['auth_failed', 'config_error', 'stopped'] as const)
      expect(gatewayHealth({ ...streaming, state, dataPath: 'none' }).status, state).toBe('down');
  });

  it('has no last bar age before the first bar', () => {
    expect(gatewayHealth({ ...streaming, lastBarAt: null }).figures.lastBarAgeMs).toBeNull();
  });
});
