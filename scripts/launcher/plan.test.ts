import { describe, expect, it } from 'vitest';
import { demoThresholds, planServices } from './plan.js';

const sim = { kind: 'sim' as const, msPerMinute: 2000, simUrl: 'http://127.0.0.1:8070', wsUrl: 'ws://127.0.0.1:8070', keyId: 'SIMKEY', secret: 'SIMSECRET' };

describe('launch plan', () => {
  it('points every service at the simulator and NATS, each on its own port', () => {
    const plans = planServices(sim, 'nats://127.0.0.1:4333', ['SPY', 'AAPL']);
    expect(plans.map((p) => [p.name, p.env.HTTP_PORT])).toEqual([
      ['market-gateway', '8081'],
      ['strategy', '8082'],
      ['executor', '8083'],
      ['watchdog', '8090'],
    ]);
    for (const p of plans) {
      expect(p.env).toMatchObject({ NATS_URL: 'nats://127.0.0.1:4333', ALPACA_TRADING_URL: sim.simUrl, APCA_API_KEY_ID: 'SIMKEY' });
    }
    expect(plans[0]!.env).toMatchObject({ SYMBOLS: 'SPY,AAPL', ALPACA_STREAM_URL: sim.wsUrl });
  });

  it('uses Alpaca\'s own hosts (the services\' defaults) when running on real keys', () => {
    const plans = planServices({ kind: 'alpaca', keyId: 'PK', secret: 'S' }, 'nats://x:4222', ['SPY']);
    expect(plans[0]!.env.ALPACA_STREAM_URL).toBeUndefined();
    expect(plans[3]!.env.NO_BAR_ALERT_MS).toBeUndefined();
  });

  it('scales bar-minute thresholds with the simulated minute, keeping process guards in wall time', () => {
    const t = demoThresholds(2000);
    expect(t.watchdog).toMatchObject({ NO_BAR_ALERT_MS: '4000', FLATTEN_AFTER_MS: '10000', HEARTBEAT_TIMEOUT_MS: '15000' });
    expect(t['market-gateway']).toMatchObject({ STALE_AFTER_MS: '1000', PONG_TIMEOUT_MS: '2000' });
    expect(demoThresholds(10).watchdog!.NO_BAR_ALERT_MS).toBe('200');
  });

  it('lets a port be overridden from the environment', () => {
    expect(planServices(sim, 'nats://x', ['SPY'], { WATCHDOG_PORT: '9999' })[3]!.env.HTTP_PORT).toBe('9999');
  });
});
