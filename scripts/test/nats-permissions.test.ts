// infra/nats/auth.conf on a real nats-server: the four services wired as their own users run the system
// (bars → signals → orders, commands, KV state, NATS services), and anything outside a user's permissions
// is refused on that connection while the connection and everything else keep running.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Svcm } from '@nats-io/services';
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';

type PermissionViolation = InstanceType<typeof errors.PermissionViolationError>;
import { startSim, type Sim } from '@vigil/alpaca-sim';
import { decodeAs, ExecutorHaltReply, GatewayStatusReply, kvBuckets, streams, subjects } from '@vigil/contracts';
import { createAlpacaRest, MarketClock, Metrics, parseConfig, Readiness } from '@vigil/service-kit';
import { captureLogger, startNats, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayConfig } from '../../services/market-gateway/src/config.js';
import { createGateway, type Gateway } from '../../services/market-gateway/src/gateway.js';
import { createExecutor, type ExecutorService } from '../../services/executor/src/executor.js';
import { createStrategy, type StrategyService } from '../../services/strategy/src/strategy-service.js';
import { watchdogConfig } from '../../services/watchdog/src/config.js';
import { createWatchdog, type Watchdog } from '../../services/watchdog/src/watchdog.js';
import { NATS_USERS, natsServerEnv, newNatsPasswords, type NatsUser } from '../launcher/plan.js';

const authConf = resolve(import.meta.dirname, '../../infra/nats/auth.conf');
const MS_PER_MINUTE = 250;

interface Conn {
  nc: NatsConnection;
  /** Permission violations the server reported on this connection. */
  violations: PermissionViolation[];
}

let server: NatsServerHandle;
let sim: Sim;
const passwords = {} as Record<NatsUser, string>;
const conns: Conn[] = [];
const logs: (() => string)[] = [];
const stops: (() => Promise<unknown> | unknown)[] = [];
let svc: Record<'gateway' | 'strategy' | 'executor' | 'watchdog', Conn>;
let ops: Conn;

async function as(user: NatsUser, name: string = user): Promise<Conn> {
  const nc = await connect({ servers: server.url, user: NATS_USERS[user].user, pass: passwords[user], name, maxReconnectAttempts: -1 });
  const conn: Conn = { nc, violations: [] };
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error' && s.error instanceof errors.PermissionViolationError) conn.violations.push(s.error);
  })();
  conns.push(conn);
  return conn;
}

async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Run `op` on `conn` and wait until the server reports it as a permission violation on `subject`. */
async function refused(conn: Conn, operation: 'publish' | 'subscription', subject: string, op: () => unknown): Promise<void> {
  const before = conn.violations.length;
  await op();
  await conn.nc.flush().catch(() => {});
  await waitFor(`"${operation} ${subject}" refused`, () => conn.violations.slice(before).some((v) => v.operation === operation && v.subject === subject), 5_000);
  expect(conn.nc.isClosed()).toBe(false);
}

const logged = () => ({ logger: captureLogger({ level: 'info' }), metrics: (n: string) => new Metrics(n, { defaultMetrics: false }) });

async function storedCount(stream: string): Promise<number> {
  const jsm = await jetstreamManager(ops.nc);
  return (await jsm.streams.info(stream)).state.messages;
}

beforeAll(async () => {
  Object.assign(passwords, newNatsPasswords(randomBytes));
  // nats-server reads auth.conf's password variables from its environment (inherited from this process).
  Object.assign(process.env, natsServerEnv(passwords));
  server = await startNats({ own: true, extraConfig: await readFile(authConf, 'utf8') });
  sim = await startSim({ symbols: ['SPY', 'AAPL'], clock: { msPerMinute: MS_PER_MINUTE }, restRateLimit: 100_000, zombieGraceMs: 1_000 });
  const alpaca = { APCA_API_KEY_ID: sim.credentials.keyId, APCA_API_SECRET_KEY: sim.credentials.secret, ALPACA_TRADING_URL: sim.url, ALPACA_DATA_URL: sim.url };
  const rest = createAlpacaRest(alpaca);
  svc = { gateway: await as('market-gateway'), strategy: await as('strategy'), executor: await as('executor'), watchdog: await as('watchdog') };
  ops = await as('ops');

  const g = logged();
  logs.push(g.logger.text);
  const gateway: Gateway = await createGateway({
    config: parseConfig(GatewayConfig, { ...alpaca, NATS_URL: server.url, ALPACA_STREAM_URL: sim.wsUrl, SYMBOLS: 'SPY,AAPL', CLOCK_REFRESH_MS: '200', HEARTBEAT_INTERVAL_MS: '200' }),
    nc: svc.gateway.nc,
    logger: g.logger.logger,
    metrics: g.metrics('market-gateway'),
    readiness: new Readiness(),
    instanceId: 'gw-permissions',
  });
  stops.push(() => gateway.stop());

  const s = logged();
  logs.push(s.logger.text);
  const clock = new MarketClock({ source: rest.clock, refreshMs: 200, logger: s.logger.logger, metrics: s.metrics('clock') });
  await clock.start();
  stops.push(() => clock.stop());
  const strategy: StrategyService = await createStrategy({
    nc: svc.strategy.nc,
    // The fastest crossing there is, so signals (and orders) come within seconds.
    config: { STRATEGY: 'ma_cross', MA_FAST: 1, MA_SLOW: 2, MAX_SIGNAL_AGE_MS: 20 * 60_000, ORDER_QTY: 1, MOMENTUM_LOOKBACK: 10, MOMENTUM_THRESHOLD_BPS: 20, PUBLISH_TIMEOUT_MS: 2_000 },
    brokerNow: () => clock.brokerNow(),
    logger: s.logger.logger,
    metrics: s.metrics('strategy'),
  });
  stops.push(() => strategy.stop());

  const e = logged();
  logs.push(e.logger.text);
  const executor: ExecutorService = await createExecutor({
    nc: svc.executor.nc,
    rest,
    brokerNow: () => clock.brokerNow(),
    config: {
      MAX_POSITION_QTY: 100,
      MAX_ORDER_NOTIONAL: 1_000_000,
      MAX_ORDERS_PER_MINUTE: 1_000,
      MAX_SIGNAL_AGE_MS: 20 * 60_000,
      TIME_IN_FORCE: 'day',
      RECONCILE_INTERVAL_MS: 60_000,
      ORDER_POLL_MS: 200,
      BROKER_RETRY_INITIAL_MS: 50,
      BROKER_RETRY_MAX_MS: 400,
      BROKER_MAX_ATTEMPTS: 3,
      FLATTEN_RETRY_MAX_MS: 400,
    },
    logger: e.logger.logger,
    metrics: e.metrics('executor'),
  });
  stops.push(() => executor.stop());

  const w = logged();
  logs.push(w.logger.text);
  const watchdog: Watchdog = await createWatchdog({
    nc: svc.watchdog.nc,
    config: parseConfig(watchdogConfig, { ...alpaca, NATS_URL: server.url, TICK_MS: '100', HEALTH_INTERVAL_MS: '300', CLOCK_REFRESH_MS: '200' }),
    logger: w.logger.logger,
    metrics: w.metrics('watchdog'),
    clockSource: rest.clock,
    instanceId: 'wd-permissions',
  });
  stops.push(() => watchdog.stop());
}, 30_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  for (const { nc } of conns) await nc.close();
  await sim?.close();
  await server?.cleanup();
});

describe('NATS users and permissions (infra/nats/auth.conf)', () => {
  it('runs the four services as their own users: bars, signals, orders, health, KV state, NATS services, commands', async () => {
    const seen = new Map<string, number>();
    const sub = ops.nc.subscribe(subjects.ordersAll, { callback: () => void seen.set('order', (seen.get('order') ?? 0) + 1) });
    const watched = [subjects.heartbeat, subjects.healthAll].map((subject) =>
      ops.nc.subscribe(subject, { callback: (_e, m) => void seen.set(m.subject, (seen.get(m.subject) ?? 0) + 1) }),
    );

    // Bars into BARS (gateway), consumed and acked (strategy), signals into SIGNALS (strategy), orders (executor).
    await waitFor('bars in BARS', async () => (await storedCount(streams.bars.name)) >= 4);
    await waitFor('signals in SIGNALS', async () => (await storedCount(streams.signals.name)) >= 1, 20_000);
    await waitFor('an order event', () => seen.get('order'), 20_000);
    expect(await storedCount(streams.orders.name)).toBeGreaterThan(0);
    const jsm = await jetstreamManager(ops.nc);
    expect((await jsm.consumers.info(streams.bars.name, 'strategy')).ack_floor.stream_seq).toBeGreaterThan(0);
    expect((await jsm.consumers.info(streams.signals.name, 'executor')).ack_floor.stream_seq).toBeGreaterThan(0);
    await waitFor('heartbeat and health.watchdog', () => seen.get(subjects.heartbeat) && seen.get('health.watchdog'));

    // KV state of each service, read back by ops.
    const kvm = new Kvm(ops.nc);
    await waitFor('strategy state saved', async () => (await (await kvm.open(kvBuckets.strategyState.name)).status()).values > 0);
    await waitFor('watchdog state saved', async () => (await (await kvm.open(kvBuckets.watchdogState.name)).status()).values > 0);
    // The watchdog keeps its alerts in the ALERTS stream, which it created itself.
    await waitFor('ALERTS stream created by the watchdog', async () => (await jsm.streams.info(streams.alerts.name).catch(() => null)) !== null);

    // Both command services answer `nats micro ls` (ops) through allow_responses.
    const names: string[] = [];
    for await (const p of await new Svcm(ops.nc).client().ping()) names.push(p.name);
    expect(names.sort()).toEqual(['executor', 'market-gateway']);

    // The watchdog's commands reach the real gateway and executor; ops may ask the gateway's status.
    const ask = async (conn: Conn, subject: string, body: object) => (await conn.nc.request(subject, JSON.stringify({ v: 1, ...body }), { timeout: 10_000 })).data;
    const command = { requestedBy: 'permissions-test', reason: 'test' };
    const status = decodeAs(GatewayStatusReply, subjects.gatewayStatus, await ask(svc.watchdog, subjects.gatewayStatus, {}));
    expect(status.ok && status.value.ok).toBe(true);
    const halt = decodeAs(ExecutorHaltReply, subjects.executorHalt, await ask(svc.watchdog, subjects.executorHalt, command));
    expect(halt.ok && halt.value.halt.halted).toBe(true);
    const resume = decodeAs(ExecutorHaltReply, subjects.executorResume, await ask(svc.watchdog, subjects.executorResume, command));
    expect(resume.ok && resume.value.halt.halted).toBe(false);
    expect(decodeAs(GatewayStatusReply, subjects.gatewayStatus, await ask(ops, subjects.gatewayStatus, {})).ok).toBe(true);

    sub.unsubscribe();
    for (const s of watched) s.unsubscribe();
    // Nothing the services did was refused.
    for (const [name, conn] of Object.entries(svc)) expect({ name, violations: conn.violations.map((v) => v.message) }).toEqual({ name, violations: [] });
    for (const text of logs) expect(text()).not.toMatch(/permissions violation/i);
  }, 60_000);

  it('refuses each publish or subscription outside a user\'s permissions, and the connection and the system keep running', async () => {
    // A receiver allowed on cmd.executor.> (the executor's user) sees what reaches the subject.
    const probe = await as('executor', 'probe');
    const received: string[] = [];
    probe.nc.subscribe('cmd.executor.probe', { callback: (_e, m) => void received.push(m.string()) });
    probe.nc.subscribe(subjects.executorFlatten, { queue: 'probe', callback: (_e, m) => void received.push(m.string()) });
    await probe.nc.flush();

    // strategy may not command the executor, nor listen to its commands.
    await refused(svc.strategy, 'publish', subjects.executorFlatten, () => svc.strategy.nc.publish(subjects.executorFlatten, 'forged'));
    await refused(svc.strategy, 'subscription', 'cmd.executor.>', () => svc.strategy.nc.subscribe('cmd.executor.>'));
    // executor may not publish market data; gateway may not command; watchdog may not forge heartbeats;
    await refused(svc.executor, 'publish', 'md.bars.1m.SPY', () => svc.executor.nc.publish('md.bars.1m.SPY', 'forged'));
    await refused(svc.gateway, 'publish', subjects.executorHalt, () => svc.gateway.nc.publish(subjects.executorHalt, 'forged'));
    await refused(svc.gateway, 'subscription', 'cmd.executor.>', () => svc.gateway.nc.subscribe('cmd.executor.>'));
    await refused(svc.watchdog, 'publish', subjects.heartbeat, () => svc.watchdog.nc.publish(subjects.heartbeat, 'forged'));
    await refused(svc.watchdog, 'subscription', 'cmd.gateway.>', () => svc.watchdog.nc.subscribe('cmd.gateway.>'));
    // ops only watches: no commands but the status query, no stream deletion.
    await refused(ops, 'publish', subjects.executorHalt, () => ops.nc.publish(subjects.executorHalt, 'forged'));
    await refused(ops, 'publish', subjects.gatewayReconnect, () => ops.nc.publish(subjects.gatewayReconnect, 'forged'));
    await refused(ops, 'publish', `$JS.API.STREAM.DELETE.${streams.bars.name}`, () => ops.nc.publish(`$JS.API.STREAM.DELETE.${streams.bars.name}`));
    // and no service may delete a stream, even one it manages.
    await refused(svc.strategy, 'publish', `$JS.API.STREAM.DELETE.${streams.signals.name}`, () => svc.strategy.nc.publish(`$JS.API.STREAM.DELETE.${streams.signals.name}`));
    // nor touch another service's KV bucket.
    await refused(svc.strategy, 'publish', '$KV.executor_state.halt', () => svc.strategy.nc.publish('$KV.executor_state.halt', '{}'));

    // The watchdog's command does arrive; none of the forged ones did.
    svc.watchdog.nc.publish('cmd.executor.probe', 'from watchdog');
    await waitFor('the watchdog\'s probe', () => received.includes('from watchdog'));
    expect(received).toEqual(['from watchdog']);

    // The refused connections go on doing what they may.
    await jetstream(svc.strategy.nc).publish('$KV.strategy_state.permissions-test', '{}');
    await (await new Kvm(svc.executor.nc).open(kvBuckets.executorState.name)).put('permissions-test', '{}');
    svc.gateway.nc.publish('md.permissions-test', 'ok');
    await svc.gateway.nc.flush();
    for (const conn of [svc.strategy, svc.executor, svc.gateway, svc.watchdog, ops]) expect(conn.nc.isClosed()).toBe(false);

    // And the system keeps running: bars keep landing, the watchdog still commands the gateway.
    const bars = await storedCount(streams.bars.name);
    await waitFor('more bars', async () => (await storedCount(streams.bars.name)) > bars);
    const status = await svc.watchdog.nc.request(subjects.gatewayStatus, JSON.stringify({ v: 1 }), { timeout: 10_000 });
    expect(decodeAs(GatewayStatusReply, subjects.gatewayStatus, status.data).ok).toBe(true);
  }, 60_000);

  it('refuses a user with a wrong password', async () => {
    await expect(connect({ servers: server.url, user: 'watchdog', pass: 'wrong', reconnect: false })).rejects.toThrow(/authorization/i);
  });
});
