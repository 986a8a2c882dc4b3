// infra/nats/auth.conf on a real nats-server: the four services wired as their own users run the system
// (bars → signals → orders, commands, KV state, NATS services), and anything outside a user's permissions
// is refused on that connection while the connection and everything else keep running. Each user gets its
// replies on its own inbox prefix (`_INBOX.<user>`), as every Vigil connection does.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { jetstream, jetstreamManager, type StreamInfo } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Svcm } from '@nats-io/services';
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';

type PermissionViolation = InstanceType<typeof errors.PermissionViolationError>;
import { startSim, type Sim } from '@vigil/alpaca-sim';
import { commands, decodeOn, HealthReport, kvBuckets, streamOwners, streams, subjects } from '@vigil/contracts';
import {
  CommandError,
  createAlpacaRest,
  MarketClock,
  Metrics,
  natsInboxPrefix,
  parseConfig,
  Readiness,
  requestCommand,
  startHealthReporter,
  type ServiceHealth,
} from '@vigil/service-kit';
import { captureLogger, startNats, waitFor, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayConfig } from '../../services/market-gateway/src/config.js';
import { startReplica } from '../../services/market-gateway/src/replica.js';
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
/** A person at `./vigil ctl`. */
let operator: Conn;
/** What the gateway and the executor logged, for their dropped requests. */
const serviceLog = {} as Record<'market-gateway' | 'executor', () => Record<string, unknown>[]>;

async function as(user: NatsUser, name: string = user): Promise<Conn> {
  const nc = await connect({
    servers: server.url,
    user: NATS_USERS[user].user,
    pass: passwords[user],
    inboxPrefix: natsInboxPrefix(NATS_USERS[user].user),
    name,
    maxReconnectAttempts: -1,
  });
  const conn: Conn = { nc, violations: [] };
  void (async () => {
    for await (const s of nc.status())
      if (s.type === 'error' && s.error instanceof errors.PermissionViolationError) conn.violations.push(s.error);
  })();
  conns.push(conn);
  return conn;
}

/** Run `op` on `conn` and wait until the server reports it as a permission violation on `subject`. */
async function refused(
  conn: Conn,
  operation: 'publish' | 'subscription',
  subject: string,
  op: () => unknown,
): Promise<void> {
  const before = conn.violations.length;
  await op();
  await conn.nc.flush().catch(() => {});
  await waitFor(
    `"${operation} ${subject}" refused`,
    () => conn.violations.slice(before).some((v) => v.operation === operation && v.subject === subject),
    { timeoutMs: 5_000 },
  );
  expect(conn.nc.isClosed()).toBe(false);
}

/** The inbox prefix a connection was opened with (nats.js keeps its options on the connection). */
const inboxPrefixOf = (nc: NatsConnection) =>
  (nc as NatsConnection & { options: { inboxPrefix?: string } }).options.inboxPrefix;

/** Run every `[operation, subject, op]` on `conn`, then wait until the server has refused each of them. */
async function allRefused(
  conn: Conn,
  attempts: [operation: 'publish' | 'subscription', subject: string, op: () => unknown][],
  /** Count violations from here: when the attempts were set off before the call (a responder's replies). */
  since: number = conn.violations.length,
): Promise<void> {
  const before = since;
  for (const [, , op] of attempts) await op();
  await conn.nc.flush().catch(() => {});
  const missing = () =>
    attempts.filter(
      ([operation, subject]) =>
        !conn.violations.slice(before).some((v) => v.operation === operation && v.subject === subject),
    );
  await waitFor('every attempt refused', () => missing().length === 0, { timeoutMs: 5_000 }).catch(() => {
    throw new Error(
      `not refused: ${missing()
        .map(([o, s]) => `${o} ${s}`)
        .join(', ')}`,
    );
  });
  expect(conn.nc.isClosed()).toBe(false);
}

const logged = () => ({
  logger: captureLogger({ level: 'info' }),
  metrics: (n: string) => new Metrics(n, { defaultMetrics: false }),
});

/** What an attack must not change: each stream's config and stored messages, each bucket's entries. */
interface Snapshot {
  streams: Record<string, StreamInfo>;
  halt: number | undefined;
}

async function snapshot(): Promise<Snapshot> {
  const jsm = await jetstreamManager(ops.nc);
  const infos = await Promise.all(
    Object.values(streams).map(async (d) => [d.name, await jsm.streams.info(d.name)] as const),
  );
  const halt = await (await new Kvm(ops.nc).open(kvBuckets.executorState.name)).get('halt');
  return { streams: Object.fromEntries(infos), halt: halt?.revision };
}

/** Nothing purged, deleted or reconfigured; no message on an attack subject; no KV entry written by an attacker. */
async function expectUnchanged(before: Snapshot): Promise<void> {
  const jsm = await jetstreamManager(ops.nc);
  for (const [name, was] of Object.entries(before.streams)) {
    const now = await jsm.streams.info(name);
    expect(now.config, name).toEqual(was.config);
    expect(now.state.first_seq, `${name}: first message kept`).toBe(was.state.first_seq);
    expect(now.state.last_seq, name).toBeGreaterThanOrEqual(was.state.last_seq);
    expect(now.state.num_deleted ?? 0, `${name}: no message deleted`).toBe(0);
    expect(now.state.messages, `${name}: every message kept`).toBe(
      now.state.last_seq === 0 ? 0 : now.state.last_seq - now.state.first_seq + 1,
    );
  }
  for (const subject of ['md.bars.1m.ZZZZ', 'executor.orders.attack']) {
    const stream = subject.startsWith('md.') ? streams.bars.name : streams.orders.name;
    expect(await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null), subject).toBeNull();
  }
  const kvm = new Kvm(ops.nc);
  for (const bucket of Object.values(kvBuckets))
    expect(await (await kvm.open(bucket.name)).get('attack'), bucket.name).toBeNull();
  expect((await (await kvm.open(kvBuckets.executorState.name)).get('halt'))?.revision).toBe(before.halt);
}

/**
 * Reply subjects an attacker names in a request, hoping the responder's answer lands there: the JetStream API
 * of every stream (purge, update), a key of every KV bucket, the responders' own stream subjects.
 */
const attackReplies = [
  ...Object.values(streams).flatMap((d) => [`$JS.API.STREAM.PURGE.${d.name}`, `$JS.API.STREAM.UPDATE.${d.name}`]),
  ...Object.values(kvBuckets).map((b) => `$KV.${b.name}.attack`),
  `$KV.${kvBuckets.executorState.name}.halt`,
  'md.bars.1m.ZZZZ',
  'executor.orders.attack',
];

async function storedCount(stream: string): Promise<number> {
  const jsm = await jetstreamManager(ops.nc);
  return (await jsm.streams.info(stream)).state.messages;
}

beforeAll(async () => {
  Object.assign(passwords, newNatsPasswords(randomBytes));
  // nats-server reads auth.conf's password variables from its environment (inherited from this process).
  Object.assign(process.env, natsServerEnv(passwords));
  server = await startNats({ own: true, extraConfig: await readFile(authConf, 'utf8') });
  sim = await startSim({
    symbols: ['SPY', 'AAPL'],
    clock: { msPerMinute: MS_PER_MINUTE },
    restRateLimit: 100_000,
    zombieGraceMs: 1_000,
  });
  const alpaca = {
    APCA_API_KEY_ID: sim.credentials.keyId,
    APCA_API_SECRET_KEY: sim.credentials.secret,
    ALPACA_TRADING_URL: sim.url,
    ALPACA_DATA_URL: sim.url,
  };
  const rest = createAlpacaRest(alpaca);
  svc = {
    gateway: await as('market-gateway'),
    strategy: await as('strategy'),
    executor: await as('executor'),
    watchdog: await as('watchdog'),
  };
  ops = await as('ops');
  operator = await as('operator');

  const g = logged();
  logs.push(g.logger.text);
  serviceLog['market-gateway'] = g.logger.lines;
  // As main.ts runs it: a replica that takes the gateway lease (KV gateway_leader) under its own user, then streams.
  const gateway = await startReplica({
    config: parseConfig(GatewayConfig, {
      ...alpaca,
      NATS_URL: server.url,
      ALPACA_STREAM_URL: sim.wsUrl,
      SYMBOLS: 'SPY,AAPL',
      CLOCK_REFRESH_MS: '200',
      HEARTBEAT_INTERVAL_MS: '200',
    }),
    nc: svc.gateway.nc,
    logger: g.logger.logger,
    metrics: g.metrics('market-gateway'),
    readiness: new Readiness(),
    instanceId: 'gw-permissions',
  });
  stops.push(() => gateway.stop());

  const s = logged();
  logs.push(s.logger.text);
  const clock = new MarketClock({
    source: rest.clock,
    refreshMs: 200,
    logger: s.logger.logger,
    metrics: s.metrics('clock'),
  });
  await clock.start();
  stops.push(() => clock.stop());
  const strategy: StrategyService = await createStrategy({
    nc: svc.strategy.nc,
    // The fastest crossing there is, so signals (and orders) come within seconds.
    config: {
      STRATEGY: 'ma_cross',
      MA_FAST: 1,
      MA_SLOW: 2,
      MAX_SIGNAL_AGE_MS: 20 * 60_000,
      ORDER_QTY: 1,
      MOMENTUM_LOOKBACK: 10,
      MOMENTUM_THRESHOLD_BPS: 20,
      PUBLISH_TIMEOUT_MS: 2_000,
      SIGNAL_SOURCES: ['live', 'backfill', 'poll'],
      HEARTBEAT_INTERVAL_MS: 200,
    },
    instanceId: 'strategy-permissions',
    version: '0.0.1-test',
    brokerNow: () => clock.brokerNow(),
    logger: s.logger.logger,
    metrics: s.metrics('strategy'),
  });
  stops.push(() => strategy.stop());

  const e = logged();
  logs.push(e.logger.text);
  serviceLog.executor = e.logger.lines;
  const executor: ExecutorService = await createExecutor({
    nc: svc.executor.nc,
    rest,
    brokerNow: () => clock.brokerNow(),
    market: () => ({ phase: clock.phase(), nextCloseMs: clock.nextCloseMs() }),
    config: {
      SYMBOLS: ['SPY', 'AAPL'],
      ALLOW_SHORT: false,
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
      FLATTEN_SCOPE: 'vigil',
    },
    logger: e.logger.logger,
    metrics: e.metrics('executor'),
    version: '0.0.1-test',
  });
  stops.push(() => executor.stop());

  const w = logged();
  logs.push(w.logger.text);
  const watchdog: Watchdog = await createWatchdog({
    nc: svc.watchdog.nc,
    config: parseConfig(watchdogConfig, {
      ...alpaca,
      NATS_URL: server.url,
      TICK_MS: '100',
      CLOCK_REFRESH_MS: '200',
    }),
    logger: w.logger.logger,
    metrics: w.metrics('watchdog'),
    clockSource: rest.clock,
    positionsSource: rest.positions,
    accountSource: rest,
    instanceId: 'wd-permissions',
    version: '0.0.1-test',
  });
  stops.push(() => watchdog.stop());

  // Each service's health report as startService publishes it, on the service's own connection (its user).
  const health: [string, Conn, () => ServiceHealth][] = [
    ['market-gateway', svc.gateway, () => gateway.health()],
    ['strategy', svc.strategy, () => strategy.health()],
    ['executor', svc.executor, () => executor.health()],
    ['watchdog', svc.watchdog, () => watchdog.health()],
  ];
  for (const [service, conn, own] of health) {
    const reporter = startHealthReporter({
      service,
      instanceId: `${service}-permissions`,
      version: '0.0.1-test',
      startedAt: Date.now(),
      nc: conn.nc,
      intervalMs: 200,
      health: own,
      readiness: new Readiness(),
      logger: g.logger.logger,
      metrics: g.metrics(service),
    });
    stops.push(() => reporter.stop());
  }
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
    const sub = ops.nc.subscribe(subjects.ordersAll, {
      callback: () => void seen.set('order', (seen.get('order') ?? 0) + 1),
    });
    const watched = [subjects.heartbeat, subjects.strategyHeartbeat, subjects.healthAll].map((subject) =>
      ops.nc.subscribe(subject, { callback: (_e, m) => void seen.set(m.subject, (seen.get(m.subject) ?? 0) + 1) }),
    );
    const reports = new Map<string, HealthReport>();
    watched.push(
      ops.nc.subscribe(subjects.healthAll, {
        callback: (_e, m) => {
          const d = decodeOn(HealthReport, m.subject, m.data);
          if (d.ok) reports.set(d.value.service, d.value);
        },
      }),
    );

    // Bars into BARS (gateway), consumed and acked (strategy), signals into SIGNALS (strategy), orders (executor).
    await waitFor('bars in BARS', async () => (await storedCount(streams.bars.name)) >= 4);
    await waitFor('signals in SIGNALS', async () => (await storedCount(streams.signals.name)) >= 1, {
      timeoutMs: 20_000,
    });
    await waitFor('an order event', () => seen.get('order'), { timeoutMs: 20_000 });
    expect(await storedCount(streams.orders.name)).toBeGreaterThan(0);
    const jsm = await jetstreamManager(ops.nc);
    expect((await jsm.consumers.info(streams.bars.name, 'strategy')).ack_floor.stream_seq).toBeGreaterThan(0);
    expect((await jsm.consumers.info(streams.signals.name, 'executor')).ack_floor.stream_seq).toBeGreaterThan(0);
    await waitFor('heartbeats', () => seen.get(subjects.heartbeat) && seen.get(subjects.strategyHeartbeat));
    // Every service's health.<service> arrives, published with its own user's rights.
    await waitFor('a health report from each service', () => reports.size === 4);
    expect([...reports.keys()].sort()).toEqual(['executor', 'market-gateway', 'strategy', 'watchdog']);
    for (const [service, report] of reports)
      expect(report, service).toMatchObject({ service, instanceId: `${service}-permissions`, version: '0.0.1-test' });
    expect(reports.get('executor')?.figures).toMatchObject({ halted: 0 });
    expect(reports.get('strategy')?.figures.barsDecided).toBeTypeOf('number');

    // KV state of each service, read back by ops.
    const kvm = new Kvm(ops.nc);
    await waitFor(
      'strategy state saved',
      async () => (await (await kvm.open(kvBuckets.strategyState.name)).status()).values > 0,
    );
    await waitFor(
      'watchdog state saved',
      async () => (await (await kvm.open(kvBuckets.watchdogState.name)).status()).values > 0,
    );
    // The watchdog keeps its alerts in the ALERTS stream, which it created itself.
    await waitFor(
      'ALERTS stream created by the watchdog',
      async () => (await jsm.streams.info(streams.alerts.name).catch(() => null)) !== null,
    );

    // All four services answer `nats micro ls` ($SRV.PING) for ops, on ops's own inboxes.
    expect(inboxPrefixOf(ops.nc)).toBe('_INBOX.ops');
    const names: string[] = [];
    for await (const p of await new Svcm(ops.nc).client().ping()) names.push(p.name);
    expect(names.sort()).toEqual(['executor', 'market-gateway', 'strategy', 'watchdog']);

    // The watchdog's commands reach the real gateway and executor; ops may ask the gateway's status.
    const opts = { timeoutMs: 10_000 };
    const command = { v: 1, requestedBy: 'permissions-test', reason: 'test' } as const;
    expect((await requestCommand(svc.watchdog.nc, commands.gatewayStatus, { v: 1 }, opts)).ok).toBe(true);
    expect((await requestCommand(svc.watchdog.nc, commands.executorHalt, command, opts)).halt.halted).toBe(true);
    expect((await requestCommand(svc.watchdog.nc, commands.executorResume, command, opts)).halt.halted).toBe(false);
    expect((await requestCommand(ops.nc, commands.gatewayStatus, { v: 1 }, opts)).ok).toBe(true);

    sub.unsubscribe();
    for (const s of watched) s.unsubscribe();
    // Nothing the services did was refused.
    for (const [name, conn] of Object.entries(svc))
      expect({ name, violations: conn.violations.map((v) => v.message) }).toEqual({ name, violations: [] });
    for (const text of logs) expect(text()).not.toMatch(/permissions violation/i);
  }, 60_000);

  it("refuses each publish or subscription outside a user's permissions, and the connection and the system keep running", async () => {
    // A receiver allowed on cmd.executor.> (the executor's user) sees what reaches the subject.
    const probe = await as('executor', 'probe');
    const received: string[] = [];
    probe.nc.subscribe('cmd.executor.probe', { callback: (_e, m) => void received.push(m.string()) });
    probe.nc.subscribe(commands.executorFlatten.subject, {
      queue: 'probe',
      callback: (_e, m) => void received.push(m.string()),
    });
    await probe.nc.flush();

    // strategy may not command the executor, nor listen to its commands.
    await refused(svc.strategy, 'publish', commands.executorFlatten.subject, () =>
      svc.strategy.nc.publish(commands.executorFlatten.subject, 'forged'),
    );
    await refused(svc.strategy, 'subscription', 'cmd.executor.>', () => svc.strategy.nc.subscribe('cmd.executor.>'));
    // executor may not publish market data; gateway may not command; watchdog may not forge heartbeats;
    await refused(svc.executor, 'publish', 'md.bars.1m.SPY', () => svc.executor.nc.publish('md.bars.1m.SPY', 'forged'));
    await refused(svc.gateway, 'publish', commands.executorHalt.subject, () =>
      svc.gateway.nc.publish(commands.executorHalt.subject, 'forged'),
    );
    await refused(svc.gateway, 'subscription', 'cmd.executor.>', () => svc.gateway.nc.subscribe('cmd.executor.>'));
    await refused(svc.watchdog, 'publish', subjects.heartbeat, () =>
      svc.watchdog.nc.publish(subjects.heartbeat, 'forged'),
    );
    await refused(svc.executor, 'publish', subjects.strategyHeartbeat, () =>
      svc.executor.nc.publish(subjects.strategyHeartbeat, 'forged'),
    );
    await refused(svc.watchdog, 'subscription', 'cmd.gateway.>', () => svc.watchdog.nc.subscribe('cmd.gateway.>'));
    // ops only watches: no commands but the status query, no stream deletion.
    await refused(ops, 'publish', commands.executorHalt.subject, () =>
      ops.nc.publish(commands.executorHalt.subject, 'forged'),
    );
    await refused(ops, 'publish', commands.gatewayReconnect.subject, () =>
      ops.nc.publish(commands.gatewayReconnect.subject, 'forged'),
    );
    await refused(ops, 'publish', `$JS.API.STREAM.DELETE.${streams.bars.name}`, () =>
      ops.nc.publish(`$JS.API.STREAM.DELETE.${streams.bars.name}`),
    );
    // and no service may delete a stream, even one it manages.
    await refused(svc.strategy, 'publish', `$JS.API.STREAM.DELETE.${streams.signals.name}`, () =>
      svc.strategy.nc.publish(`$JS.API.STREAM.DELETE.${streams.signals.name}`),
    );
    // nor touch another service's KV bucket.
    await refused(svc.strategy, 'publish', '$KV.executor_state.halt', () =>
      svc.strategy.nc.publish('$KV.executor_state.halt', '{}'),
    );

    // The watchdog's command does arrive; none of the forged ones did.
    svc.watchdog.nc.publish('cmd.executor.probe', 'from watchdog');
    await waitFor("the watchdog's probe", () => received.includes('from watchdog'));
    expect(received).toEqual(['from watchdog']);

    // The refused connections go on doing what they may.
    await jetstream(svc.strategy.nc).publish('$KV.strategy_state.permissions-test', '{}');
    await (await new Kvm(svc.executor.nc).open(kvBuckets.executorState.name)).put('permissions-test', '{}');
    svc.gateway.nc.publish('md.permissions-test', 'ok');
    await svc.gateway.nc.flush();
    for (const conn of [svc.strategy, svc.executor, svc.gateway, svc.watchdog, ops])
      expect(conn.nc.isClosed()).toBe(false);

    // And the system keeps running: bars keep landing, the watchdog still commands the gateway.
    const bars = await storedCount(streams.bars.name);
    await waitFor('more bars', async () => (await storedCount(streams.bars.name)) > bars);
    expect((await requestCommand(svc.watchdog.nc, commands.gatewayStatus, { v: 1 }, { timeoutMs: 10_000 })).ok).toBe(
      true,
    );
  }, 60_000);

  it('drops, unanswered and not acted on, a request to the gateway or the executor whose reply is not an inbox: nothing is purged, updated or written', async () => {
    const before = await snapshot();
    const ids: Record<string, string> = {};
    for await (const p of await new Svcm(ops.nc).client().ping()) ids[p.name] = p.id;
    type Responder = 'market-gateway' | 'executor';
    const srv = (name: Responder) =>
      ['PING', 'INFO', 'STATS'].flatMap((verb) => [`$SRV.${verb}.${name}`, `$SRV.${verb}.${name}.${ids[name]}`]);
    // ops may ask the gateway's status and send every $SRV request; the watchdog commands both services.
    const requests: { conn: Conn; subject: string; to: Responder[] }[] = [
      { conn: ops, subject: commands.gatewayStatus.subject, to: ['market-gateway'] },
      { conn: svc.watchdog, subject: commands.gatewayStatus.subject, to: ['market-gateway'] },
      // `{"v":1}` is not a valid halt: had it been answered, it would not have halted anything.
      { conn: svc.watchdog, subject: commands.executorHalt.subject, to: ['executor'] },
      ...['PING', 'INFO', 'STATS'].map((verb) => ({
        conn: ops,
        subject: `$SRV.${verb}`,
        to: ['market-gateway', 'executor'] as Responder[],
      })),
      ...srv('market-gateway').map((subject) => ({ conn: ops, subject, to: ['market-gateway'] as Responder[] })),
      ...srv('executor').map((subject) => ({ conn: ops, subject, to: ['executor'] as Responder[] })),
    ];
    const expected: Record<Responder, string[]> = { 'market-gateway': [], executor: [] };
    const dropped = (name: Responder) =>
      serviceLog[name]()
        .filter((l) => String(l.msg).startsWith('request dropped unanswered'))
        .map((l) => `${String(l.subject)} ${String(l.reply)}`);
    const already = { 'market-gateway': dropped('market-gateway').length, executor: dropped('executor').length };
    for (const { conn, subject, to } of requests) {
      for (const reply of attackReplies) {
        conn.nc.publish(subject, JSON.stringify({ v: 1 }), { reply });
        for (const name of to) expected[name].push(`${subject} ${reply}`);
      }
    }
    await Promise.all([ops.nc.flush(), svc.watchdog.nc.flush()]);
    for (const name of ['market-gateway', 'executor'] as const) {
      await waitFor(
        `${name} dropping every request`,
        () => dropped(name).length - already[name] >= expected[name].length,
        { timeoutMs: 10_000 },
      );
      expect(dropped(name).slice(already[name]).sort()).toEqual(expected[name].sort());
    }

    // Asked properly, on the asker's own inbox, both still answer.
    expect((await requestCommand(ops.nc, commands.gatewayStatus, { v: 1 }, { timeoutMs: 10_000 })).ok).toBe(true);
    const names: string[] = [];
    for await (const p of await new Svcm(ops.nc).client().ping()) names.push(p.name);
    expect(names).toEqual(expect.arrayContaining(['executor', 'market-gateway']));
    await expectUnchanged(before);
  }, 60_000);

  it("refuses a responder's reply to anything but its callers' inboxes (the watchdog's and ops's): no allow_responses", async () => {
    const before = await snapshot();
    // Responders that answer whatever reply subject they are given, as the gateway's and the executor's users.
    const naive = {
      'market-gateway': await as('market-gateway', 'naive-gateway'),
      executor: await as('executor', 'naive-executor'),
    };
    const subject = { 'market-gateway': 'cmd.gateway.naive', executor: 'cmd.executor.naive' } as const;
    for (const name of ['market-gateway', 'executor'] as const) {
      naive[name].nc.subscribe(subject[name], { callback: (_e, m) => void m.respond(JSON.stringify({ naive: name })) });
      await naive[name].nc.flush();
      // Its callers' inboxes it may answer.
      expect((await svc.watchdog.nc.request(subject[name], '{}', { timeout: 5_000 })).json()).toEqual({ naive: name });
    }
    // What each may publish anyway (its own stream's API and subjects, its own KV bucket) is what
    // addCommandService keeps replies out of (the test above).
    const own: Record<'market-gateway' | 'executor', string[]> = {
      'market-gateway': [
        'md.bars.1m.ZZZZ',
        `$JS.API.STREAM.UPDATE.${streams.bars.name}`,
        `$KV.${kvBuckets.gatewayLeader.name}.attack`,
      ],
      executor: [
        `$KV.${kvBuckets.executorState.name}.attack`,
        `$KV.${kvBuckets.executorState.name}.halt`,
        'executor.orders.attack',
        `$JS.API.STREAM.UPDATE.${streams.orders.name}`,
      ],
    };
    for (const name of ['market-gateway', 'executor'] as const) {
      const replies = [
        ...attackReplies.filter((r) => !own[name].includes(r)),
        '_INBOX.strategy.attack',
        '_INBOX.market-gateway.attack',
        '_INBOX.executor.attack',
        commands.executorFlatten.subject,
      ];
      // Counted from before the requests: the responder may answer, and be refused, before allRefused starts.
      const since = naive[name].violations.length;
      for (const reply of replies) svc.watchdog.nc.publish(subject[name], '{}', { reply });
      await svc.watchdog.nc.flush();
      await allRefused(
        naive[name],
        replies.map((reply) => ['publish', reply, () => {}]),
        since,
      );
    }
    for (const conn of Object.values(naive)) await conn.nc.close();
    await expectUnchanged(before);
  }, 60_000);

  it("lets each user subscribe to its own inboxes only, so nobody reads the replies to another's requests", async () => {
    const users: [NatsUser, Conn][] = [
      ['market-gateway', svc.gateway],
      ['strategy', svc.strategy],
      ['executor', svc.executor],
      ['watchdog', svc.watchdog],
      ['ops', ops],
      ['operator', operator],
    ];
    for (const [user, conn] of users) {
      expect(inboxPrefixOf(conn.nc)).toBe(`_INBOX.${user}`);
      const others = users.filter(([u]) => u !== user).map(([u]) => `_INBOX.${u}.>`);
      await allRefused(
        conn,
        ['_INBOX.>', '_INBOX.*.>', ...others].map((s) => [
          'subscription',
          s,
          () => conn.nc.subscribe(s, { callback: () => {} }),
        ]),
      );
    }
    // strategy listening for ops's replies hears nothing of ops's request, which ops gets.
    const overheard: string[] = [];
    await allRefused(svc.strategy, [
      [
        'subscription',
        '_INBOX.>',
        () =>
          svc.strategy.nc.subscribe('_INBOX.>', {
            callback: (err, m) => void (err ? null : overheard.push(m.subject)),
          }),
      ],
    ]);
    const status = await ops.nc.request(commands.gatewayStatus.subject, JSON.stringify({ v: 1 }), { timeout: 10_000 });
    expect(status.subject.startsWith('_INBOX.ops.')).toBe(true);
    expect(overheard).toEqual([]);
    // A client without the prefix (nats.js's `_INBOX`, or `nats` without --inbox-prefix) gets no answer at all.
    const plain = await connect({ servers: server.url, user: 'ops', pass: passwords.ops, reconnect: false });
    await expect(requestCommand(plain, commands.gatewayStatus, { v: 1 }, { timeoutMs: 2_000 })).rejects.toThrow(
      CommandError,
    );
    await plain.close();
  }, 60_000);

  it('lets only its owner create or update a stream, and nobody purge it or delete from it: strategy cannot shrink BARS', async () => {
    const before = await snapshot();
    // The attack: strategy sets BARS to keep one message.
    const strategyJsm = await jetstreamManager(svc.strategy.nc, { timeout: 2_000 });
    const violations = svc.strategy.violations.length;
    await expect(strategyJsm.streams.update(streams.bars.name, { max_msgs: 1 })).rejects.toThrow();
    await waitFor(
      'the update refused',
      () =>
        svc.strategy.violations
          .slice(violations)
          .some((v) => v.subject === `$JS.API.STREAM.UPDATE.${streams.bars.name}`),
      { timeoutMs: 5_000 },
    );

    const users: [NatsUser, Conn][] = [
      ['market-gateway', svc.gateway],
      ['strategy', svc.strategy],
      ['executor', svc.executor],
      ['watchdog', svc.watchdog],
      ['ops', ops],
      ['operator', operator],
    ];
    for (const [user, conn] of users) {
      const attempts: [string, string][] = [];
      for (const { name } of Object.values(streams)) {
        if ((streamOwners as Record<string, string>)[name] !== user)
          attempts.push([`$JS.API.STREAM.UPDATE.${name}`, '{}'], [`$JS.API.STREAM.CREATE.${name}`, '{}']);
        attempts.push(
          [`$JS.API.STREAM.PURGE.${name}`, '{}'],
          [`$JS.API.STREAM.DELETE.${name}`, ''],
          [`$JS.API.STREAM.MSG.DELETE.${name}`, '{"seq":1}'],
        );
      }
      await allRefused(
        conn,
        attempts.map(([subject, body]) => ['publish', subject, () => conn.nc.publish(subject, body)]),
      );
    }
    await expectUnchanged(before);
  }, 60_000);

  it('lets only its owner write a KV bucket', async () => {
    const before = await snapshot();
    const owner: Record<string, NatsUser> = {
      [kvBuckets.executorState.name]: 'executor',
      [kvBuckets.strategyState.name]: 'strategy',
      [kvBuckets.watchdogState.name]: 'watchdog',
      [kvBuckets.gatewayLeader.name]: 'market-gateway',
    };
    const users: [NatsUser, Conn][] = [
      ['market-gateway', svc.gateway],
      ['strategy', svc.strategy],
      ['executor', svc.executor],
      ['watchdog', svc.watchdog],
      ['ops', ops],
      ['operator', operator],
    ];
    for (const [user, conn] of users) {
      const subjectsRefused = Object.values(kvBuckets)
        .filter((b) => owner[b.name] !== user)
        .flatMap((b) => [
          `$KV.${b.name}.attack`,
          `$JS.API.STREAM.CREATE.KV_${b.name}`,
          `$JS.API.STREAM.UPDATE.KV_${b.name}`,
        ]);
      await allRefused(
        conn,
        subjectsRefused.map((subject) => ['publish', subject, () => conn.nc.publish(subject, '{}')]),
      );
    }
    // ops reads every bucket.
    const kvm = new Kvm(ops.nc);
    for (const bucket of Object.values(kvBuckets))
      expect((await (await kvm.open(bucket.name)).status()).bucket).toBe(bucket.name);
    expect(await (await kvm.open(kvBuckets.executorState.name)).get('halt')).not.toBeNull();
    await expectUnchanged(before);
  }, 60_000);

  it('lets operator (./vigil ctl) send exactly the five commands and get each answer, where ops may not', async () => {
    expect(inboxPrefixOf(operator.nc)).toBe('_INBOX.operator');
    const opts = { timeoutMs: 10_000 };
    const person = {
      v: 1,
      requestedBy: 'permissions-test operator',
      by: 'person',
      reason: 'test',
      incidentId: 'operator-test',
    } as const;
    expect((await requestCommand(operator.nc, commands.gatewayStatus, { v: 1 }, opts)).ok).toBe(true);
    const halted = await requestCommand(operator.nc, commands.executorHalt, person, opts);
    expect(halted.halt).toMatchObject({ halted: true, by: 'person', incidentId: 'operator-test' });
    const flattened = await requestCommand(operator.nc, commands.executorFlatten, person, { timeoutMs: 30_000 });
    expect(flattened.halt.halted).toBe(true);
    expect((await requestCommand(operator.nc, commands.executorResume, person, opts)).halt.halted).toBe(false);
    const reconnect = await requestCommand(operator.nc, commands.gatewayReconnect, person, opts);
    expect(typeof reconnect.ok).toBe('boolean');
    const names: string[] = [];
    for await (const p of await new Svcm(operator.nc).client().info()) names.push(p.name);
    expect(names).toEqual(expect.arrayContaining(['executor', 'market-gateway']));

    // ops watches only: none of the four commands that change something.
    const changing = [
      commands.executorHalt,
      commands.executorResume,
      commands.executorFlatten,
      commands.gatewayReconnect,
    ];
    await allRefused(
      ops,
      changing.map(({ subject }) => ['publish', subject, () => ops.nc.publish(subject, JSON.stringify(person))]),
    );

    // operator: no other command, no market data, alerts, health or orders, no KV write, no stream change,
    // and nothing to listen to but its own replies.
    const before = await snapshot();
    const published = [
      'cmd.executor.probe',
      'cmd.gateway.probe',
      'md.bars.1m.ZZZZ',
      subjects.heartbeat,
      'alerts.no_bar',
      'health.executor',
      'strategy.signals.SPY',
      'executor.orders.attack',
      ...Object.values(kvBuckets).map((b) => `$KV.${b.name}.attack`),
      `$KV.${kvBuckets.executorState.name}.halt`,
      ...Object.values(streams).flatMap((d) => [
        `$JS.API.STREAM.PURGE.${d.name}`,
        `$JS.API.STREAM.DELETE.${d.name}`,
        `$JS.API.STREAM.MSG.DELETE.${d.name}`,
        `$JS.API.STREAM.UPDATE.${d.name}`,
        `$JS.API.STREAM.CREATE.${d.name}`,
        `$JS.API.CONSUMER.CREATE.${d.name}`,
      ]),
      `$JS.API.CONSUMER.DELETE.${streams.bars.name}.strategy`,
    ];
    const subscribed = ['md.>', 'alerts.>', 'cmd.>', 'health.>', '_INBOX.>', '_INBOX.ops.>', '_INBOX.watchdog.>'];
    await allRefused(operator, [
      ...published.map((subject): ['publish', string, () => void] => [
        'publish',
        subject,
        () => operator.nc.publish(subject, '{}'),
      ]),
      ...subscribed.map((subject): ['subscription', string, () => void] => [
        'subscription',
        subject,
        () => void operator.nc.subscribe(subject, { callback: () => {} }),
      ]),
    ]);
    await expectUnchanged(before);
  }, 60_000);

  it('refuses a user with a wrong password', async () => {
    await expect(connect({ servers: server.url, user: 'watchdog', pass: 'wrong', reconnect: false })).rejects.toThrow(
      /authorization/i,
    );
  });
});
