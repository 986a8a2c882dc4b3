import { describe, expect, it } from 'vitest';
import {
  demoThresholds,
  NATS_USERS,
  natsStore,
  natsCredentials,
  natsServerEnv,
  newNatsPasswords,
  overridden,
  planServices,
} from './plan.js';

const sim = {
  kind: 'sim' as const,
  msPerMinute: 2000,
  simUrl: 'http://127.0.0.1:8070',
  wsUrl: 'ws://127.0.0.1:8070',
  keyId: 'SIMKEY',
  secret: 'SIMSECRET',
};

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
      expect(p.env).toMatchObject({
        NATS_URL: 'nats://127.0.0.1:4333',
        ALPACA_TRADING_URL: sim.simUrl,
        APCA_API_KEY_ID: 'SIMKEY',
      });
    }
    expect(plans[0]!.env).toMatchObject({ SYMBOLS: 'SPY,AAPL', ALPACA_STREAM_URL: sim.wsUrl });
  });

  it("gives the executor the gateway's symbols, the only ones it trades, over a SYMBOLS the user exported", () => {
    const plans = planServices(sim, 'nats://x', ['SPY', 'AAPL'], { SYMBOLS: 'TSLA' });
    expect(plans.find((p) => p.name === 'executor')!.env.SYMBOLS).toBe('SPY,AAPL');
    expect(plans.find((p) => p.name === 'market-gateway')!.env.SYMBOLS).toBe('SPY,AAPL');
  });

  it("uses Alpaca's own hosts (the services' defaults) when running on real keys", () => {
    const plans = planServices({ kind: 'alpaca', keyId: 'PK', secret: 'S' }, 'nats://x:4222', ['SPY']);
    expect(plans[0]!.env.ALPACA_STREAM_URL).toBeUndefined();
    expect(plans[3]!.env.NO_BAR_ALERT_MS).toBeUndefined();
  });

  it('scales bar-minute thresholds with the simulated minute, keeping process guards in wall time', () => {
    const t = demoThresholds(2000);
    expect(t.watchdog).toMatchObject({
      NO_BAR_ALERT_MS: '4000',
      FLATTEN_AFTER_MS: '10000',
      HEARTBEAT_TIMEOUT_MS: '15000',
    });
    // The degraded-feed and unmanaged-position thresholds are in market minutes too, and the strategy reports its
    // decisions well inside the unmanaged threshold.
    expect(t.watchdog).toMatchObject({
      DEGRADED_ALERT_MS: '4000',
      DEGRADED_CRITICAL_MS: '20000',
      UNMANAGED_ALERT_MS: '6000',
      POSITIONS_REFRESH_MS: '500',
    });
    expect(Number(t.strategy!.HEARTBEAT_INTERVAL_MS)).toBeLessThan(Number(t.watchdog!.UNMANAGED_ALERT_MS) / 4);
    expect(t['market-gateway']).toMatchObject({ STALE_AFTER_MS: '1000', PONG_TIMEOUT_MS: '2000' });
    expect(demoThresholds(10).watchdog!.NO_BAR_ALERT_MS).toBe('200');
  });

  it('lets a port be overridden from the environment', () => {
    expect(planServices(sim, 'nats://x', ['SPY'], { WATCHDOG_PORT: '9999' })[3]!.env.HTTP_PORT).toBe('9999');
  });

  it('logs each service in as its own NATS user on the private server, and never hands out the ops or operator password', () => {
    let n = 0;
    const passwords = newNatsPasswords((size) => Buffer.alloc(size, ++n));
    const plans = planServices(sim, 'nats://x', ['SPY'], {}, { kind: 'users', passwords });
    expect(plans.map((p) => [p.env.NATS_USER, p.env.NATS_PASS])).toEqual([
      ['market-gateway', passwords['market-gateway']],
      ['strategy', passwords.strategy],
      ['executor', passwords.executor],
      ['watchdog', passwords.watchdog],
    ]);
    expect(plans.every((p) => p.env.NATS_PASS !== passwords.ops && p.env.NATS_PASS !== passwords.operator)).toBe(true);
    expect(natsCredentials({ kind: 'users', passwords }, 'ops')).toEqual({
      NATS_USER: 'ops',
      NATS_PASS: passwords.ops,
    });
    expect(natsCredentials({ kind: 'users', passwords }, 'operator')).toEqual({
      NATS_USER: 'operator',
      NATS_PASS: passwords.operator,
    });
  });

  it('makes passwords nats-server reads as strings: distinct, letters and digits, starting with a letter', () => {
    let n = 0;
    const passwords = newNatsPasswords((size) => Buffer.alloc(size, ++n));
    expect(new Set(Object.values(passwords)).size).toBe(Object.keys(NATS_USERS).length);
    for (const p of Object.values(passwords)) expect(p).toMatch(/^[a-z][a-z0-9]{30,}$/);
    expect(natsServerEnv(passwords)).toEqual({
      VIGIL_GATEWAY_PASS: passwords['market-gateway'],
      VIGIL_STRATEGY_PASS: passwords.strategy,
      VIGIL_EXECUTOR_PASS: passwords.executor,
      VIGIL_WATCHDOG_PASS: passwords.watchdog,
      VIGIL_OPS_PASS: passwords.ops,
      VIGIL_OPERATOR_PASS: passwords.operator,
    });
  });

  it('with NATS_URL, passes NATS_USER/NATS_PASS to every service when given, and no credentials otherwise', () => {
    const shared = planServices(sim, 'nats://x', ['SPY'], {}, { kind: 'shared', user: 'vigil', pass: 'pw' });
    expect(shared.every((p) => p.env.NATS_USER === 'vigil' && p.env.NATS_PASS === 'pw')).toBe(true);
    const none = planServices(sim, 'nats://x', ['SPY']);
    expect(none.some((p) => 'NATS_USER' in p.env || 'NATS_PASS' in p.env)).toBe(false);
  });

  it("passes the user's environment to every service, under the values the launcher decides", () => {
    let n = 0;
    const passwords = newNatsPasswords((size) => Buffer.alloc(size, ++n));
    const user = {
      STRATEGY: 'momentum',
      MAX_POSITION_QTY: '5',
      FLATTEN_POLICY: 'flatten',
      STALE_AFTER_MS: '3000',
      PATH: '/usr/bin',
      NATS_URL: 'nats://elsewhere:4222',
      NATS_USER: 'someone',
      HTTP_PORT: '9000',
      ALPACA_TRADING_URL: 'https://api.alpaca.markets',
      UNSET: undefined,
      ...natsServerEnv(passwords),
    };
    const plans = planServices(sim, 'nats://127.0.0.1:4333', ['SPY'], user, { kind: 'users', passwords });
    const [gateway, strategy, executor, watchdog] = plans;
    expect(strategy!.env).toMatchObject({
      STRATEGY: 'momentum',
      NATS_URL: 'nats://127.0.0.1:4333',
      NATS_USER: 'strategy',
      HTTP_PORT: '8082',
      PATH: '/usr/bin',
    });
    expect(executor!.env).toMatchObject({ MAX_POSITION_QTY: '5', ALPACA_TRADING_URL: sim.simUrl });
    expect(watchdog!.env.FLATTEN_POLICY).toBe('flatten');
    // The demo's scaled thresholds are defaults: a value the user exported wins.
    expect(gateway!.env.STALE_AFTER_MS).toBe('3000');
    expect(gateway!.env.PONG_TIMEOUT_MS).toBe('2000');
    expect(
      plans.every((p) => !('UNSET' in p.env) && Object.keys(natsServerEnv(passwords)).every((v) => !(v in p.env))),
    ).toBe(true);
    expect(overridden(user, plans)).toEqual(['ALPACA_TRADING_URL', 'HTTP_PORT', 'NATS_URL', 'NATS_USER']);
  });
});

describe("the private server's JetStream store", () => {
  it('is kept under .vigil with real keys, and temporary on the simulator', () => {
    expect(natsStore('/srv/vigil', true)).toEqual({ dir: '/srv/vigil/.vigil/nats', keep: true });
    expect(natsStore('/srv/vigil', false)).toEqual({ dir: null, keep: false });
  });
});
