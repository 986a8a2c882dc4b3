import { setTimeout as sleep } from 'node:timers/promises';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { barEnd, decode, encode, HealthReport, healthSubject, subjects, type Alert, type Bar, type GatewayHeartbeat, type GatewayState } from '@vigil/contracts';
import { MarketClock, type ClockSource, type Logger, type MarketPhase, type Metrics } from '@vigil/service-kit';
import { AlertPublisher } from './alerts.js';
import { CommandSender } from './commands.js';
import type { WatchdogConfig } from './config.js';
import { initialState, persisted, rulesConfig, staleMarketMs, step, type Action, type WatchEvent, type WatchState } from './rules.js';
import { commandSink, SinkQueue, webhookSink } from './sinks.js';
import { showsFreshData } from './freshness.js';
import { StateStore } from './state-store.js';
import { keepAlertsStream, lastBarStoredAt } from './streams.js';
import { Stats } from './stats.js';

export interface WatchdogDeps {
  nc: NatsConnection;
  config: WatchdogConfig;
  logger: Logger;
  metrics: Metrics;
  /** The broker's clock (`createAlpacaRest(config).clock`), never the gateway's word. */
  clockSource: ClockSource;
  instanceId: string;
  now?: () => number;
}

/** Everything the status page and `/api/status` show. */
export interface WatchdogStatus {
  at: string;
  instanceId: string;
  startedAt: string;
  phase: MarketPhase;
  gateway: { up: boolean; state: GatewayState | null; instanceId: string | null; lastHeartbeatAgeMs: number };
  barsPerMinute: number;
  history: { minute: string; bars: number }[];
  symbols: { symbol: string; lastBarAgeMs: number }[];
  lastBarAgeMs: number | null;
  reconnects: number;
  uptimePct: number;
  openAlerts: number;
  executorHalted: boolean;
  incident: { id: string; staleSince: string; staleForMs: number; halt: string; flatten: string; freshSince: string | null } | null;
  alerts: Alert[];
}

export interface Watchdog {
  status(): WatchdogStatus;
  /** Resolves when alert sinks and state writes have caught up (tests, shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The watchdog's wiring: NATS subscriptions and the broker clock feed the pure rules; their actions become
 * alerts, commands and state writes. Built from injected parts so tests run it in-process against a real
 * nats-server with a fake gateway, executor and broker clock.
 */
export async function createWatchdog(deps: WatchdogDeps): Promise<Watchdog> {
  const { nc, config, metrics, instanceId } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ component: 'watchdog' });
  const cfg = rulesConfig(config);
  const startedAt = now();

  const store = new StateStore(nc, deps.logger, metrics);
  const alertsStream = keepAlertsStream(nc, log, metrics);
  const clock = new MarketClock({ source: deps.clockSource, refreshMs: config.CLOCK_REFRESH_MS, logger: deps.logger, metrics, now });
  await clock.start();
  const saved = await store.load();
  const facts = { phase: clock.phase(), lastBarStoredAt: await lastBarStoredAt(nc, log), savedAt: saved?.savedAt ?? null };
  let state: WatchState = initialState(now(), saved, facts);

  const queueOpts = {
    logger: deps.logger,
    metrics,
    attempts: config.ALERT_SINK_ATTEMPTS,
    backoffMs: 500,
    minIntervalMs: config.ALERT_SINK_MIN_INTERVAL_MS,
    maxQueue: config.ALERT_SINK_QUEUE_MAX,
  };
  const sinks = [
    ...(config.ALERT_WEBHOOK_URL ? [new SinkQueue(webhookSink(config.ALERT_WEBHOOK_URL, config.ALERT_SINK_TIMEOUT_MS), queueOpts)] : []),
    ...(config.ALERT_COMMAND ? [new SinkQueue(commandSink(config.ALERT_COMMAND, config.ALERT_SINK_TIMEOUT_MS), queueOpts)] : []),
  ];
  const alerts = new AlertPublisher(nc, deps.logger, metrics, sinks);
  const commands = new CommandSender({
    nc,
    logger: deps.logger,
    metrics,
    requestedBy: instanceId,
    timeoutMs: config.COMMAND_TIMEOUT_MS,
    flattenTimeoutMs: config.FLATTEN_TIMEOUT_MS,
    attempts: config.COMMAND_ATTEMPTS,
    backoffMs: config.COMMAND_BACKOFF_MS,
  });
  const stats = new Stats();
  const m = watchdogMetrics(metrics, () => status());
  let stopped = false;

  const apply = (event: WatchEvent): void => {
    const before = state.reconnectsTotal;
    const r = step(cfg, state, event, now());
    state = r.state;
    m.reconnects.inc(state.reconnectsTotal - before);
    for (const action of r.actions) run(action);
    store.save(persisted(state));
  };

  const run = (action: Action): void => {
    if (action.type === 'alert') alerts.emit(action.alert, now());
    else if (action.type === 'note') log.info(action.details, action.msg);
    else {
      const { command, incidentId, reason } = action;
      log.info({ command, incidentId, reason }, `sending ${command} command`);
      void commands.send(command, incidentId, reason).then((o) => {
        if (!stopped) apply({ type: 'command_result', command, incidentId, ok: o.ok, ...(o.error ? { error: o.error } : {}) });
      });
    }
  };

  const onMessage = (kind: 'heartbeat' | 'bar') => (err: Error | null, msg: Msg) => {
    if (err) return log.error({ err, kind }, 'subscription failed');
    const d = decode(msg.subject, msg.data);
    if (!d.ok) {
      m.bad.inc({ kind });
      return log.warn({ err: d.error, subject: msg.subject }, 'ignored a malformed message');
    }
    if (kind === 'bar') {
      const bar = d.value as Bar;
      m.bars.inc({ symbol: bar.symbol });
      stats.onBar(bar.symbol, now());
      if (showsFreshData(barEnd(bar).getTime(), clock.brokerNow(), clock.clockRate(), config.NO_BAR_ALERT_MS)) apply({ type: 'bar', symbol: bar.symbol });
      else m.oldBars.inc();
    } else {
      const hb = d.value as GatewayHeartbeat;
      m.heartbeats.inc();
      apply({ type: 'heartbeat', instanceId: hb.instanceId, state: hb.state, reason: hb.reason, reconnects: hb.reconnects, bufferFill: hb.bufferFill });
    }
  };
  // Plain core subscriptions: they see JetStream-published bars too, and take nothing from durable consumers.
  const subs: Subscription[] = [
    nc.subscribe(subjects.heartbeat, { callback: onMessage('heartbeat') }),
    nc.subscribe(subjects.bars1mAll, { callback: onMessage('bar') }),
  ];

  const tick = setInterval(() => {
    const phase = clock.phase();
    apply({ type: 'tick', phase });
    stats.onTick(now(), phase !== 'closed', state.incident !== null);
  }, config.TICK_MS);
  const health = setInterval(() => publishHealth(), config.HEALTH_INTERVAL_MS);
  const isoOrNull = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  log.info(
    { rules: cfg, incidentId: state.incident?.id ?? null, sinks: sinks.length, phase: facts.phase, lastBarStoredAt: isoOrNull(facts.lastBarStoredAt), lastFreshAt: isoOrNull(state.lastFreshAt) },
    'watchdog watching',
  );

  function publishHealth(): void {
    const s = status();
    const report: HealthReport = {
      v: 1,
      service: 'watchdog',
      instanceId,
      at: s.at,
      status: s.openAlerts > 0 ? 'degraded' : 'ok',
      uptimeSec: Math.floor((now() - startedAt) / 1000),
      figures: { barsPerMinute: s.barsPerMinute, lastBarAgeMs: s.lastBarAgeMs, reconnects: s.reconnects, uptimePct: s.uptimePct, openAlerts: s.openAlerts },
      notes: [
        ...(state.incident ? [`stale-data incident ${state.incident.id} open`] : []),
        ...(state.gatewayDown ? ['no gateway heartbeat'] : []),
        `market ${s.phase}`,
      ],
    };
    try {
      nc.publish(healthSubject('watchdog'), encode(HealthReport, report));
    } catch (err) {
      log.warn({ err }, 'cannot publish the health report');
    }
  }

  function status(): WatchdogStatus {
    const t = now();
    const inc = state.incident;
    return {
      at: new Date(t).toISOString(),
      instanceId,
      startedAt: new Date(startedAt).toISOString(),
      phase: state.phase,
      gateway: { up: !state.gatewayDown, state: state.gateway?.state ?? null, instanceId: state.gateway?.instanceId ?? null, lastHeartbeatAgeMs: t - state.lastHeartbeatAt },
      barsPerMinute: stats.barsPerMinute(t),
      history: stats.history(t),
      symbols: stats.symbols(t),
      lastBarAgeMs: stats.lastBarAgeMs(t),
      reconnects: state.reconnectsTotal,
      uptimePct: stats.uptimePct(),
      openAlerts: (inc ? 1 : 0) + (state.gatewayDown ? 1 : 0),
      executorHalted: state.executorHalted,
      incident: inc && {
        id: inc.id,
        staleSince: new Date(inc.staleSince).toISOString(),
        staleForMs: staleMarketMs(inc, inc.freshSince ?? t),
        halt: inc.halt,
        flatten: inc.flatten,
        freshSince: inc.freshSince === null ? null : new Date(inc.freshSince).toISOString(),
      },
      alerts: alerts.timeline().slice(0, 100),
    };
  }

  return {
    status,
    idle: async () => {
      await alerts.idle();
      await store.idle();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(tick);
      clearInterval(health);
      clock.stop();
      alertsStream.stop();
      commands.stop();
      for (const s of subs) s.unsubscribe();
      // Give queued alerts a moment to reach their sinks; a slow sink must not hold up shutdown.
      await Promise.race([alerts.idle(), sleep(2000)]);
      alerts.stop();
      await store.idle();
      log.info('watchdog stopped');
    },
  };
}

/** The same figures as the page, for Prometheus (read at scrape time). */
function watchdogMetrics(metrics: Metrics, status: () => WatchdogStatus) {
  metrics.gauge('watchdog_bars_per_minute', 'Bars received in the last 60 s', [], function () {
    this.set(status().barsPerMinute);
  });
  metrics.gauge('watchdog_last_bar_age_seconds', 'Seconds since the last bar, per symbol', ['symbol'], function () {
    this.reset();
    for (const s of status().symbols) this.set({ symbol: s.symbol }, s.lastBarAgeMs / 1000);
  });
  metrics.gauge('watchdog_last_heartbeat_age_seconds', 'Seconds since the last gateway heartbeat', [], function () {
    this.set(status().gateway.lastHeartbeatAgeMs / 1000);
  });
  metrics.gauge('watchdog_gateway_up', '1 while gateway heartbeats arrive in time', [], function () {
    this.set(status().gateway.up ? 1 : 0);
  });
  metrics.gauge('watchdog_uptime_percent', 'Share of watched market time with fresh data', [], function () {
    this.set(status().uptimePct);
  });
  metrics.gauge('watchdog_open_alerts', 'Open incidents (stale data, gateway down)', [], function () {
    this.set(status().openAlerts);
  });
  metrics.gauge('watchdog_executor_halted', '1 while the watchdog holds the executor halted', [], function () {
    this.set(status().executorHalted ? 1 : 0);
  });
  return {
    bars: metrics.counter('watchdog_bars_total', 'Bars received by symbol', ['symbol']),
    heartbeats: metrics.counter('watchdog_heartbeats_total', 'Gateway heartbeats received'),
    bad: metrics.counter('watchdog_bad_messages_total', 'Malformed messages ignored, by stream', ['kind']),
    oldBars: metrics.counter('watchdog_old_bars_total', 'Bars too old to show data is flowing now (a backfill after an outage); they resolve no incident'),
    reconnects: metrics.counter('watchdog_reconnects_total', 'Gateway reconnects seen (heartbeat counter and our own commands)'),
  };
}
