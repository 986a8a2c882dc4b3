// Test doubles for what the watchdog talks to: a gateway and an executor on a real nats-server (each on its
// own connection, as separate processes would be), a broker clock, and an alert collector.
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  Alert,
  Bar,
  bar1mSubject,
  commands,
  decode,
  decodeAs,
  encode,
  ExecutorFlattenReply,
  ExecutorHaltReply,
  GatewayHeartbeat,
  GatewayReconnectReply,
  GatewayReconnectRequest,
  kvBuckets,
  StrategyHeartbeat,
  subjects,
} from '@vigil/contracts';
import { Metrics, type ClockSource } from '@vigil/service-kit';
import { captureLogger, startNats, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { parseConfig } from '@vigil/service-kit';
import { watchdogConfig, type WatchdogConfig } from '../src/config.js';
import type { AccountSource, PositionsSource } from '../src/positions.js';
import { createWatchdog, type Watchdog } from '../src/watchdog.js';

/**
 * For a test file's top level: its own nats-server, a watchdog state bucket emptied before each test (each
 * starts without a remembered incident), and `later(x)`, which stops or closes `x` after the test, newest first.
 */
export function natsSuite() {
  const cleanups: (() => Promise<unknown>)[] = [];
  const suite = {
    server: undefined as unknown as NatsServerHandle,
    later<T extends { close?: () => Promise<unknown>; stop?: () => Promise<unknown> }>(x: T): T {
      cleanups.unshift(() => (x.stop ?? x.close)!.call(x));
      return x;
    },
  };
  beforeAll(async () => {
    suite.server = await startNats({ own: true });
  });
  afterAll(async () => suite.server?.cleanup());
  beforeEach(async () => {
    const nc = await connect({ servers: suite.server.url });
    await (await new Kvm(nc).create(kvBuckets.watchdogState.name)).purge('watchdog');
    await nc.close();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c().catch(() => undefined);
  });
  return suite;
}

/** Small thresholds so an incident plays out in a couple of seconds. */
export const FAST_ENV: Record<string, string> = {
  NO_BAR_ALERT_MS: '600',
  HEARTBEAT_TIMEOUT_MS: '600',
  FLATTEN_AFTER_MS: '1500',
  FLATTEN_AFTER_FAILURES: '3',
  RESUME_AFTER_MS: '500',
  TICK_MS: '50',
  CLOCK_REFRESH_MS: '100',
  COMMAND_TIMEOUT_MS: '200',
  COMMAND_ATTEMPTS: '2',
  COMMAND_BACKOFF_MS: '20',
  HEALTH_INTERVAL_MS: '300',
  DEGRADED_ALERT_MS: '600',
  DEGRADED_CRITICAL_MS: '1500',
  UNMANAGED_ALERT_MS: '600',
  POSITIONS_REFRESH_MS: '100',
  ALERT_SINK_MIN_INTERVAL_MS: '0',
  ALERT_SINK_TIMEOUT_MS: '300',
  ALERT_SINK_ATTEMPTS: '2',
};

export function testConfig(natsUrl: string, env: Record<string, string> = {}): WatchdogConfig {
  return parseConfig(watchdogConfig, {
    NATS_URL: natsUrl,
    APCA_API_KEY_ID: 'SIMKEY',
    APCA_API_SECRET_KEY: 'SIMSECRET',
    ...FAST_ENV,
    ...env,
  });
}

/** Resolves once `nc` completes a round trip again (after a server restart). */
export async function reconnected(nc: NatsConnection): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await nc.flush();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A broker clock whose market the test opens, closes or makes unreachable. */
export function fakeBroker(initial: 'open' | 'closed' = 'open') {
  let phase: 'open' | 'closed' | 'down' = initial;
  const day = 86_400_000;
  const source: ClockSource = {
    legacyClock: async () => {
      if (phase === 'down') throw new Error('connect ECONNREFUSED broker');
      const now = Date.now();
      return {
        timestamp: new Date(now),
        isOpen: phase === 'open',
        nextOpen: new Date(now + day),
        nextClose: new Date(now + day),
      };
    },
  };
  return { source, set: (p: typeof phase) => (phase = p) };
}

/** Heartbeats and SPY bars every 100 ms while switched on, and a reconnect responder that can be ok, silent or absent. */
export async function fakeGateway(url: string) {
  const nc = await connect({ servers: url });
  /** `barAgeMs` > 0 sends bars that old, as a backfill after an outage does. */
  /** `liveDownAt` set: heartbeats say the live stream has been down since then and polling carries the bars. */
  const g = {
    heartbeats: true,
    bars: true,
    barAgeMs: 0,
    reconnects: 0,
    liveDownAt: null as number | null,
    requests: [] as GatewayReconnectRequest[],
  };
  let mode: 'ok' | 'hang' | 'absent' = 'ok';
  let seq = 0;
  let sub: Subscription | null = null;
  const listen = () => {
    sub = nc.subscribe(commands.gatewayReconnect.subject, {
      callback: (_err, msg) => {
        const req = decodeAs(GatewayReconnectRequest, msg.subject, msg.data);
        if (req.ok) g.requests.push(req.value);
        if (mode !== 'ok') return;
        g.reconnects += 1;
        msg.respond(
          encode(GatewayReconnectReply, { v: 1, ok: true, at: new Date().toISOString(), state: 'connecting' }),
        );
      },
    });
  };
  listen();
  const timer = setInterval(() => {
    const at = new Date().toISOString();
    if (g.heartbeats) {
      nc.publish(
        subjects.heartbeat,
        encode(GatewayHeartbeat, {
          v: 1,
          service: 'market-gateway',
          instanceId: 'market-gateway-test',
          seq: seq++,
          sentAt: at,
          state: 'streaming',
          reason: 'streaming',
          marketOpen: true,
          symbols: ['SPY'],
          connectedSince: null,
          lastMessageAt: at,
          lastBarAt: null,
          lastBarTBySymbol: {},
          barsLastMinute: 0,
          reconnects: g.reconnects,
          uptimePct: null,
          polling: g.liveDownAt !== null,
          bufferedBars: 0,
          bufferFill: 0,
          audit: { lastAuditAt: null, missing: 0, revised: 0 },
          dataPath: g.liveDownAt === null ? 'live' : 'polling',
          dataPathSince: at,
          liveDownSince: g.liveDownAt === null ? null : new Date(g.liveDownAt).toISOString(),
        }),
      );
    }
    if (g.bars) {
      // The last minute that has closed on the (fake, real-time) broker clock, or older.
      const minute = Math.floor((Date.now() - g.barAgeMs) / 60_000) * 60_000 - 60_000;
      nc.publish(
        bar1mSubject('SPY'),
        encode(Bar, {
          v: 1,
          symbol: 'SPY',
          t: new Date(minute).toISOString(),
          open: 600,
          high: 601,
          low: 599,
          close: 600.5,
          volume: 100,
          tradeCount: 5,
          vwap: 600.2,
          revision: 0,
          source: g.liveDownAt === null ? 'live' : 'poll',
          feed: 'test',
          receivedAt: at,
        }),
      );
    }
  }, 100);
  return Object.assign(g, {
    nc,
    reconnectReplies(m: typeof mode) {
      if (m === 'absent' && sub) {
        sub.unsubscribe();
        sub = null;
      } else if (m !== 'absent' && !sub) listen();
      mode = m;
    },
    async close() {
      clearInterval(timer);
      await nc.close();
    },
  });
}

/** The broker's positions as the watchdog reads them (with `intradayPl` by symbol, if set); `fail` makes reads throw. */
export function fakePositions(initial: Record<string, number> = {}) {
  const p = { held: { ...initial }, intradayPl: {} as Record<string, number>, fail: false, reads: 0 };
  const source: PositionsSource = {
    getAllOpenPositions: async () => {
      p.reads += 1;
      if (p.fail) throw new Error('connect ECONNREFUSED broker');
      return Object.entries(p.held).map(([symbol, qty]) => ({
        symbol,
        qty: String(Math.abs(qty)),
        side: qty < 0 ? 'short' : 'long',
        ...(p.intradayPl[symbol] === undefined ? {} : { unrealizedIntradayPl: p.intradayPl[symbol].toFixed(2) }),
      })) as never;
    },
  };
  return Object.assign(p, { source });
}

/** The broker's open orders and account as the watchdog reads them; `fail` makes both reads throw. */
export function fakeAccount() {
  const a = {
    orders: [] as { id: string; symbol: string; side: 'buy' | 'sell'; qty: number; limitPrice: number }[],
    equity: 100_000,
    lastEquity: 100_000,
    fail: false,
  };
  const answer = async (value: () => unknown) => {
    if (a.fail) throw new Error('connect ECONNREFUSED broker');
    return value() as never;
  };
  const source: AccountSource = {
    orders: {
      getAllOrders: () =>
        answer(() =>
          a.orders.map((o) => ({
            ...o,
            qty: String(o.qty),
            limitPrice: String(o.limitPrice),
            type: 'limit',
            status: 'new',
            filledQty: '0',
            submittedAt: new Date(),
          })),
        ),
    },
    account: {
      getAccount: () => answer(() => ({ equity: a.equity.toFixed(2), lastEquity: a.lastEquity.toFixed(2) })),
    },
  };
  return Object.assign(a, { source });
}

/**
 * Strategy heartbeats every 100 ms. While `deciding`, each reports the newest SPY bar minute as decided on (as a
 * strategy keeping up with the fake gateway's bars does); `alive = false` stops them, as a killed process would.
 */
export async function fakeStrategy(url: string, opts: { deciding: boolean }) {
  const nc = await connect({ servers: url });
  const s = { alive: true, deciding: opts.deciding };
  let seq = 0;
  let decided: string | null = null;
  const timer = setInterval(() => {
    if (!s.alive) return;
    const now = Date.now();
    if (s.deciding) decided = new Date(Math.floor(now / 60_000) * 60_000 - 60_000).toISOString();
    const at = new Date(now).toISOString();
    const lastDecisions: StrategyHeartbeat['lastDecisions'] =
      decided === null
        ? {}
        : { SPY: { barT: decided, barSource: 'poll' as const, outcome: 'none' as const, decidedAt: at, ageMs: 0 } };
    nc.publish(
      subjects.strategyHeartbeat,
      encode(StrategyHeartbeat, {
        v: 1,
        service: 'strategy',
        instanceId: 'strategy-test',
        strategy: 'momentum',
        seq: seq++,
        sentAt: at,
        lastDecisions,
        signalSources: ['live', 'backfill', 'poll'],
      }),
    );
  }, 100);
  return Object.assign(s, {
    async close() {
      clearInterval(timer);
      await nc.close();
    },
  });
}

/** Answers halt, flatten and resume like the executor would, and records every request. */
export async function fakeExecutor(url: string) {
  const nc = await connect({ servers: url });
  const requests: { command: string; incidentId: string | undefined }[] = [];
  let halted = false;
  nc.subscribe('cmd.executor.*', {
    callback: (_err, msg) => {
      const command = msg.subject.split('.')[2]!;
      const req = decode(msg.subject, msg.data);
      const incidentId = req.ok ? (req.value as { incidentId?: string }).incidentId : undefined;
      requests.push({ command, incidentId });
      const at = new Date().toISOString();
      if (command === 'halt') halted = true;
      if (command === 'resume') halted = false;
      const halt = {
        halted,
        since: halted ? at : null,
        reason: halted ? 'watchdog' : null,
        incidentId: incidentId ?? null,
      };
      msg.respond(
        command === 'flatten'
          ? encode(ExecutorFlattenReply, {
              v: 1,
              ok: true,
              at,
              scope: 'vigil',
              closed: [],
              failed: [],
              canceledOrders: 0,
              alreadyFlat: false,
              halt,
            })
          : encode(ExecutorHaltReply, { v: 1, ok: true, at, halt }),
      );
    },
  });
  return { nc, requests, close: () => nc.close() };
}

/** Every alert published on `alerts.>`, decoded. */
export async function alertCollector(url: string) {
  const nc = await connect({ servers: url });
  const alerts: Alert[] = [];
  nc.subscribe(subjects.alertsAll, {
    callback: (_err, msg) => {
      const a = decodeAs(Alert, msg.subject, msg.data);
      if (a.ok) alerts.push(a.value);
    },
  });
  await nc.flush();
  return {
    nc,
    alerts,
    of: (kind: string, status?: string) => alerts.filter((a) => a.kind === kind && (!status || a.status === status)),
    close: () => nc.close(),
  };
}

export interface RunningWatchdog {
  watchdog: Watchdog;
  nc: NatsConnection;
  metrics: Metrics;
  log: ReturnType<typeof captureLogger>;
  stop(): Promise<void>;
}

/** The watchdog in-process on its own NATS connection, with a capturing logger and its own metrics. */
export async function runWatchdog(
  url: string,
  broker: ClockSource,
  env: Record<string, string> = {},
  positions: PositionsSource = fakePositions().source,
  account: AccountSource = fakeAccount().source,
): Promise<RunningWatchdog> {
  const nc: NatsConnection = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const config = testConfig(url, env);
  const log = captureLogger({ secrets: [config.ALERT_WEBHOOK_URL] });
  const metrics = new Metrics('watchdog', { defaultMetrics: false });
  const watchdog: Watchdog = await createWatchdog({
    nc,
    config,
    logger: log.logger,
    metrics,
    clockSource: broker,
    positionsSource: positions,
    accountSource: account,
    instanceId: 'watchdog-test',
    version: '0.0.1-test',
  });
  await nc.flush(); // its subscriptions are on the server before the test publishes
  return {
    watchdog,
    nc,
    metrics,
    log,
    async stop() {
      await watchdog.stop();
      await nc.close();
    },
  };
}
