// Test doubles for what the watchdog talks to: a gateway and an executor on a real nats-server (each on its
// own connection, as separate processes would be), a broker clock, and an alert collector.
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  Alert,
  Bar,
  bar1mSubject,
  decode,
  decodeAs,
  encode,
  ExecutorFlattenReply,
  ExecutorHaltReply,
  GatewayHeartbeat,
  GatewayReconnectReply,
  GatewayReconnectRequest,
  subjects,
} from '@vigil/contracts';
import { Metrics, type ClockSource } from '@vigil/service-kit';
import { captureLogger } from '@vigil/service-kit/testing';
import { parseConfig } from '@vigil/service-kit';
import { watchdogConfig, type WatchdogConfig } from '../src/config.js';
import { createWatchdog, type Watchdog } from '../src/watchdog.js';

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
  ALERT_SINK_MIN_INTERVAL_MS: '0',
  ALERT_SINK_TIMEOUT_MS: '300',
  ALERT_SINK_ATTEMPTS: '2',
};

export function testConfig(natsUrl: string, env: Record<string, string> = {}): WatchdogConfig {
  return parseConfig(watchdogConfig, { NATS_URL: natsUrl, APCA_API_KEY_ID: 'SIMKEY', APCA_API_SECRET_KEY: 'SIMSECRET', ...FAST_ENV, ...env });
}

export async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
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
      return { timestamp: new Date(now), isOpen: phase === 'open', nextOpen: new Date(now + day), nextClose: new Date(now + day) };
    },
  };
  return { source, set: (p: typeof phase) => (phase = p) };
}

/** Heartbeats and SPY bars every 100 ms while switched on, and a reconnect responder that can be ok, silent or absent. */
export async function fakeGateway(url: string) {
  const nc = await connect({ servers: url });
  /** `barAgeMs` > 0 sends bars that old, as a backfill after an outage does. */
  const g = { heartbeats: true, bars: true, barAgeMs: 0, reconnects: 0, requests: [] as GatewayReconnectRequest[] };
  let mode: 'ok' | 'hang' | 'absent' = 'ok';
  let seq = 0;
  let sub: Subscription | null = null;
  const listen = () => {
    sub = nc.subscribe(subjects.gatewayReconnect, {
      callback: (_err, msg) => {
        const req = decodeAs(GatewayReconnectRequest, msg.subject, msg.data);
        if (req.ok) g.requests.push(req.value);
        if (mode !== 'ok') return;
        g.reconnects += 1;
        msg.respond(encode(GatewayReconnectReply, { v: 1, ok: true, at: new Date().toISOString(), state: 'connecting' }));
      },
    });
  };
  listen();
  const timer = setInterval(() => {
    const at = new Date().toISOString();
    if (g.heartbeats) {
      nc.publish(subjects.heartbeat, encode(GatewayHeartbeat, {
        v: 1, service: 'market-gateway', instanceId: 'market-gateway-test', seq: seq++, sentAt: at, state: 'streaming', reason: 'streaming',
        marketOpen: true, symbols: ['SPY'], connectedSince: null, lastMessageAt: at, lastBarAt: null, lastBarTBySymbol: {}, barsLastMinute: 0, reconnects: g.reconnects, uptimePct: null, polling: false, bufferedBars: 0, bufferFill: 0,
      }));
    }
    if (g.bars) {
      // The last minute that has closed on the (fake, real-time) broker clock, or older.
      const minute = Math.floor((Date.now() - g.barAgeMs) / 60_000) * 60_000 - 60_000;
      nc.publish(bar1mSubject('SPY'), encode(Bar, {
        v: 1, symbol: 'SPY', t: new Date(minute).toISOString(), open: 600, high: 601, low: 599, close: 600.5, volume: 100,
        tradeCount: 5, vwap: 600.2, revision: 0, source: 'live', feed: 'test', receivedAt: at,
      }));
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
      const halt = { halted, since: halted ? at : null, reason: halted ? 'watchdog' : null, incidentId: incidentId ?? null };
      msg.respond(
        command === 'flatten'
          ? encode(ExecutorFlattenReply, { v: 1, ok: true, at, closed: [], failed: [], canceledOrders: 0, alreadyFlat: false, halt })
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
export async function runWatchdog(url: string, broker: ClockSource, env: Record<string, string> = {}): Promise<RunningWatchdog> {
  const nc: NatsConnection = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const config = testConfig(url, env);
  const log = captureLogger({ secrets: [config.ALERT_WEBHOOK_URL] });
  const metrics = new Metrics('watchdog', { defaultMetrics: false });
  const watchdog: Watchdog = await createWatchdog({ nc, config, logger: log.logger, metrics, clockSource: broker, instanceId: 'watchdog-test' });
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
