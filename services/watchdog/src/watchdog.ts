import { setTimeout as sleep } from 'node:timers/promises';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  Bar,
  barEnd,
  decodeOn,
  GatewayHeartbeat,
  StandbyHeartbeat,
  StrategyHeartbeat,
  subjects,
  type Alert,
  type DataPath,
  type GatewayState,
} from '@vigil/contracts';
import type * as z from 'zod';
import {
  addCommandService,
  startMarketClock,
  type ClockSource,
  type Logger,
  type MarketPhase,
  type Metrics,
  type ServiceHealth,
} from '@vigil/service-kit';
import { AlertPublisher } from './alerts.js';
import { CommandSender } from './commands.js';
import type { WatchdogConfig } from './config.js';
import {
  initialState,
  persisted,
  readyStandbys,
  rulesConfig,
  staleMarketMs,
  step,
  type Action,
  type WatchEvent,
  type WatchState,
} from './rules.js';
import { SinkQueue, type SinkQueueOptions } from './sinks.js';
import { configuredSinks } from './alert-sinks.js';
import { showsFreshData } from './freshness.js';
import { IncidentStore } from './incident-store.js';
import { owedSince } from './decision-watch.js';
import { PositionsWatcher, type AccountSource, type BrokerBook, type PositionsSource } from './positions.js';
import type { ServiceLiveness } from './services-seen.js';
import { keepAlertsStream, lastBarStoredAt } from './streams.js';
import { Stats } from './stats.js';
import { watchdogHealth } from './health.js';
import { DeadmanSwitch, natsAnswers } from './deadman-switch.js';
import { deadmanFailUrl } from './deadman.js';
import { watchServices } from './service-watch.js';

export interface WatchdogDeps {
  nc: NatsConnection;
  config: WatchdogConfig;
  logger: Logger;
  metrics: Metrics;
  /** The broker's clock (`createAlpacaRest(config).clock`), never the gateway's word. */
  clockSource: ClockSource;
  /** The broker's positions (`createAlpacaRest(config).positions`), read by the watchdog itself. */
  positionsSource: PositionsSource;
  /** The broker's open orders and account (`createAlpacaRest(config)`), for the status page, same refresh. */
  accountSource: AccountSource;
  instanceId: string;
  /** Shown by `nats micro ls` for the NATS service `watchdog` (startService's, from package.json). */
  version: string;
  now?: () => number;
}

/** How many symbols the status lists: the stalest, so one that stopped shows whatever `SYMBOLS` holds. */
export const STATUS_SYMBOLS = 25;

/** Everything the status page and `/api/status` show. */
export interface WatchdogStatus {
  at: string;
  instanceId: string;
  startedAt: string;
  phase: MarketPhase;
  gateway: {
    up: boolean;
    state: GatewayState | null;
    instanceId: string | null;
    lastHeartbeatAgeMs: number;
    /** Standby replicas heard lately (`md.standby`): ready to take over when the leader's lease lapses. */
    standbys: string[];
  };
  barsPerMinute: number;
  history: { minute: string; bars: number }[];
  /** The `STATUS_SYMBOLS` symbols with the oldest last bar, stalest first, out of `symbolCount` seen. */
  symbols: { symbol: string; lastBarAgeMs: number }[];
  symbolCount: number;
  lastBarAgeMs: number | null;
  reconnects: number;
  uptimePct: number;
  openAlerts: number;
  executorHalted: boolean;
  incident: {
    id: string;
    staleSince: string;
    staleForMs: number;
    halt: string;
    flatten: string;
    freshSince: string | null;
  } | null;
  /** How the gateway says bars arrive, and how long the live stream has been down. */
  feed: { dataPath: DataPath; liveDownForMs: number | null } | null;
  degraded: { id: string; since: string; critical: boolean; halt: string } | null;
  /** Held positions (broker), each with how long it has waited for a decision; null before the first read. */
  positions: { symbol: string; qty: number; owedForMs: number | null }[] | null;
  unmanaged: { id: string; openedAt: string; symbols: string[]; halt: string; flatten: string } | null;
  /** Every service's liveness from its health reports (the watchdog's own from itself). */
  services: ServiceLiveness[];
  /** The broker's book as the last refresh read it (a part whose read failed is null: unknown); null before. */
  broker: (Omit<BrokerBook, 'readAt'> & { readAt: string; readAgeMs: number }) | null;
  alerts: Alert[];
}

export interface Watchdog {
  status(): WatchdogStatus;
  /** Its account for `health.watchdog` (startService publishes it). */
  health(): ServiceHealth;
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

  const store = new IncidentStore(nc, deps.logger, metrics, { replicas: config.JS_REPLICAS });
  const alertsStream = keepAlertsStream(nc, log, metrics, { replicas: config.JS_REPLICAS });
  const clock = await startMarketClock({ source: deps.clockSource, config, logger: deps.logger, metrics, now });
  const saved = await store.load();
  const facts = {
    phase: clock.phase(),
    lastBarStoredAt: await lastBarStoredAt(nc, log),
    savedAt: saved?.savedAt ?? null,
  };
  let state: WatchState = initialState(now(), saved, facts);

  const queueOpts: SinkQueueOptions = {
    logger: deps.logger,
    metrics,
    attempts: config.ALERT_SINK_ATTEMPTS,
    backoffMs: 500,
    minIntervalMs: config.ALERT_SINK_MIN_INTERVAL_MS,
    maxQueue: config.ALERT_SINK_QUEUE_MAX,
    now,
    // A sink that keeps failing pages through the others, NATS and the log (`alerts` exists by then).
    failing: {
      afterFailures: config.SINK_FAILING_AFTER_FAILURES,
      afterMs: config.SINK_FAILING_AFTER_MS,
      raise: (draft) => alerts.emit(draft, now()),
    },
  };
  const sinks = configuredSinks(config, `vigil-watchdog ${instanceId}`).map((sink) => new SinkQueue(sink, queueOpts));
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
  const m = watchdogMetrics(
    metrics,
    () => status(),
    () => stats.symbols(now()),
  );
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
        const halt = command === 'resume' && !o.ok && o.reply && 'halt' in o.reply ? o.reply.halt : undefined;
        const haltIsPersons =
          halt !== undefined &&
          (halt.by === 'person' || (halt.flattened === true && config.RESUME_AFTER_FLATTEN === 'manual'));
        if (!stopped)
          apply({
            type: 'command_result',
            command,
            incidentId,
            ok: o.ok,
            ...(o.error ? { error: o.error } : {}),
            ...(haltIsPersons ? { haltIsPersons } : {}),
          });
      });
    }
  };

  /** Decode each message as `schema`, checked against its subject; count and skip a malformed one. */
  const onMessage =
    <S extends z.ZodType>(
      kind: 'heartbeat' | 'bar' | 'strategy' | 'standby',
      schema: S,
      handle: (value: z.infer<S>) => void,
    ) =>
    (err: Error | null, msg: Msg) => {
      if (err) return log.error({ err, kind }, 'subscription failed');
      const d = decodeOn(schema, msg.subject, msg.data);
      if (!d.ok) {
        m.bad.inc({ kind });
        return log.warn({ err: d.error, subject: msg.subject }, 'ignored a malformed message');
      }
      handle(d.value);
    };
  const onBar = (bar: Bar) => {
    m.bars.inc({ symbol: bar.symbol });
    stats.onBar(bar.symbol, now());
    if (showsFreshData(barEnd(bar).getTime(), clock.brokerNow(), clock.clockRate(), config.NO_BAR_ALERT_MS))
      apply({ type: 'bar', symbol: bar.symbol, t: Date.parse(bar.t) });
    else m.oldBars.inc();
  };
  const onStrategyHeartbeat = (hb: StrategyHeartbeat) => {
    m.strategyHeartbeats.inc();
    apply({
      type: 'strategy',
      decidedBarT: Object.fromEntries(
        Object.entries(hb.lastDecisions).map(([sym, dec]) => [sym, Date.parse(dec.barT)]),
      ),
    });
  };
  const onGatewayHeartbeat = (hb: GatewayHeartbeat) => {
    m.heartbeats.inc();
    // A duration on the gateway's own clock, so neither machine's clock needs to agree with the other.
    const liveDownForMs =
      hb.liveDownSince === null ? null : Math.max(0, Date.parse(hb.sentAt) - Date.parse(hb.liveDownSince));
    apply({
      type: 'heartbeat',
      instanceId: hb.instanceId,
      state: hb.state,
      reason: hb.reason,
      reconnects: hb.reconnects,
      bufferFill: hb.bufferFill,
      audit: { missing: hb.audit.missing, revised: hb.audit.revised },
      dataPath: hb.dataPath,
      liveDownForMs,
    });
  };
  // Plain core subscriptions: they see JetStream-published bars too, and take nothing from durable consumers.
  const subs: Subscription[] = [
    nc.subscribe(subjects.heartbeat, { callback: onMessage('heartbeat', GatewayHeartbeat, onGatewayHeartbeat) }),
    nc.subscribe(subjects.bars1mAll, { callback: onMessage('bar', Bar, onBar) }),
    nc.subscribe(subjects.strategyHeartbeat, {
      callback: onMessage('strategy', StrategyHeartbeat, onStrategyHeartbeat),
    }),
    nc.subscribe(subjects.gatewayStandby, {
      callback: onMessage('standby', StandbyHeartbeat, (hb) => apply({ type: 'standby', replicaId: hb.replicaId })),
    }),
  ];
  const positions = new PositionsWatcher(
    deps.positionsSource,
    deps.accountSource,
    config.POSITIONS_REFRESH_MS,
    (bySymbol) => !stopped && apply({ type: 'positions', bySymbol }),
    deps.logger,
    metrics,
    now,
  );
  positions.start();
  // No commands: registered so `nats micro ls` (and $SRV.PING) lists the watchdog with the other services.
  const service = await addCommandService({
    nc,
    name: 'watchdog',
    version: deps.version,
    description: 'Vigil watchdog: alerts and commands on stale data, outages and silent services (no commands)',
    endpoints: [],
    logger: deps.logger,
    metrics,
  });
  const serviceWatch = watchServices({
    nc,
    config,
    logger: deps.logger,
    metrics,
    now,
    phase: () => state.phase,
    barsFlowing: () => now() - state.lastFreshAt < cfg.noBarAlertMs,
    run: (action) => {
      if (!stopped) run(action);
    },
    saved: saved?.watched ?? null,
    save: (w) => store.saveWatched(w),
  });
  // Incidents carried over a restart raise no second `open`; the dead man's switch must still know of them.
  alerts.criticals.restore(
    [
      state.incident?.id,
      state.unmanaged?.id,
      state.degraded?.critical ? state.degraded.id : undefined,
      ...serviceWatch.openCriticals(),
    ].filter((id) => id !== undefined),
  );
  if (config.DEADMAN_FAIL_URL && !config.DEADMAN_URL)
    log.warn("DEADMAN_FAIL_URL is set without DEADMAN_URL: no dead man's switch runs; set DEADMAN_URL too");
  const deadman = config.DEADMAN_URL
    ? new DeadmanSwitch({
        urls: { ok: config.DEADMAN_URL, fail: config.DEADMAN_FAIL_URL ?? deadmanFailUrl(config.DEADMAN_URL) },
        intervalMs: config.DEADMAN_INTERVAL_MS,
        timeoutMs: config.DEADMAN_TIMEOUT_MS,
        connected: () => natsAnswers(nc, config.DEADMAN_TIMEOUT_MS),
        criticalOpen: () => alerts.criticals.any(),
        logger: deps.logger,
        metrics,
      })
    : null;
  deadman?.start();

  const tick = setInterval(() => {
    const phase = clock.phase();
    apply({ type: 'tick', phase });
    stats.onTick(now(), phase !== 'closed', state.incident !== null);
  }, config.TICK_MS);
  const isoOrNull = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  log.info(
    {
      rules: cfg,
      incidentId: state.incident?.id ?? null,
      sinks: sinks.length,
      phase: facts.phase,
      lastBarStoredAt: isoOrNull(facts.lastBarStoredAt),
      lastFreshAt: isoOrNull(state.lastFreshAt),
    },
    'watchdog watching',
  );

  function status(): WatchdogStatus {
    const t = now();
    const inc = state.incident;
    const book = positions.book();
    const stalest = stats.stalest(t, STATUS_SYMBOLS);
    const s: Omit<WatchdogStatus, 'services' | 'broker'> = {
      at: new Date(t).toISOString(),
      instanceId,
      startedAt: new Date(startedAt).toISOString(),
      phase: state.phase,
      gateway: {
        up: !state.gatewayDown,
        state: state.gateway?.state ?? null,
        instanceId: state.gateway?.instanceId ?? null,
        lastHeartbeatAgeMs: t - state.lastHeartbeatAt,
        standbys: readyStandbys(cfg, state, t),
      },
      barsPerMinute: stats.barsPerMinute(t),
      history: stats.history(t),
      symbols: stalest.symbols,
      symbolCount: stalest.count,
      lastBarAgeMs: stats.lastBarAgeMs(t),
      reconnects: state.reconnectsTotal,
      uptimePct: stats.uptimePct(),
      openAlerts:
        [inc, state.gatewayDown, state.degraded, state.unmanaged].filter((x) => x !== null).length +
        serviceWatch.openCount(),
      executorHalted: state.executorHalted,
      incident: inc && {
        id: inc.id,
        staleSince: new Date(inc.staleSince).toISOString(),
        staleForMs: staleMarketMs(inc, inc.freshSince ?? t),
        halt: inc.halt,
        flatten: inc.flatten,
        freshSince: inc.freshSince === null ? null : new Date(inc.freshSince).toISOString(),
      },
      feed: state.feed && {
        dataPath: state.feed.dataPath,
        liveDownForMs: state.feed.liveDownSince === null ? null : t - state.feed.liveDownSince,
      },
      degraded: state.degraded && {
        id: state.degraded.id,
        since: new Date(state.degraded.since).toISOString(),
        critical: state.degraded.critical,
        halt: state.degraded.halt,
      },
      positions:
        state.positions &&
        Object.entries(state.positions.bySymbol).map(([symbol, qty]) => ({
          symbol,
          qty,
          owedForMs: owedFor(symbol, t),
        })),
      unmanaged: state.unmanaged && {
        id: state.unmanaged.id,
        openedAt: new Date(state.unmanaged.openedAt).toISOString(),
        symbols: state.unmanaged.symbols,
        halt: state.unmanaged.halt,
        flatten: state.unmanaged.flatten,
      },
      alerts: alerts.timeline().slice(0, 100),
    };
    return {
      ...s,
      services: serviceWatch.liveness({
        health: watchdogHealth(s),
        instanceId,
        version: deps.version,
        uptimeSec: Math.floor((t - startedAt) / 1000),
      }),
      broker: book && { ...book, readAt: new Date(book.readAt).toISOString(), readAgeMs: t - book.readAt },
    };
  }

  function owedFor(symbol: string, t: number): number | null {
    const since = owedSince(state.decisions, symbol);
    return since === null ? null : t - since;
  }

  return {
    status,
    health: () => watchdogHealth(status()),
    idle: async () => {
      await alerts.idle();
      await store.idle();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(tick);
      positions.stop();
      serviceWatch.stop();
      deadman?.stop();
      clock.stop();
      alertsStream.stop();
      commands.stop();
      for (const s of subs) s.unsubscribe();
      await service.stop().catch(() => {});
      // Give queued alerts a moment to reach their sinks; a slow sink must not hold up shutdown.
      await Promise.race([alerts.idle(), sleep(2000)]);
      alerts.stop();
      await store.idle();
      log.info('watchdog stopped');
    },
  };
}

/** The same figures as the page, for Prometheus (read at scrape time). */
function watchdogMetrics(
  metrics: Metrics,
  status: () => WatchdogStatus,
  lastBarAges: () => { symbol: string; lastBarAgeMs: number }[],
) {
  metrics.gauge('watchdog_bars_per_minute', 'Bars received in the last 60 s', [], function () {
    this.set(status().barsPerMinute);
  });
  metrics.gauge('watchdog_last_bar_age_seconds', 'Seconds since the last bar, per symbol', ['symbol'], function () {
    this.reset();
    for (const s of lastBarAges()) this.set({ symbol: s.symbol }, s.lastBarAgeMs / 1000);
  });
  metrics.gauge('watchdog_last_heartbeat_age_seconds', 'Seconds since the last gateway heartbeat', [], function () {
    this.set(status().gateway.lastHeartbeatAgeMs / 1000);
  });
  metrics.gauge('watchdog_gateway_up', '1 while gateway heartbeats arrive in time', [], function () {
    this.set(status().gateway.up ? 1 : 0);
  });
  metrics.gauge(
    'watchdog_uptime_ratio',
    'Share of watched market time with fresh data (1 = all of it)',
    [],
    function () {
      this.set(status().uptimePct / 100);
    },
  );
  metrics.gauge(
    'watchdog_open_alerts',
    'Open incidents (stale data, gateway down, feed degraded, positions unmanaged, service down, consumer lag)',
    [],
    function () {
      this.set(status().openAlerts);
    },
  );
  metrics.gauge(
    'watchdog_feed_degraded',
    '0 while the live stream streams or is not judged, 1 feed_degraded warning, 2 critical',
    [],
    function () {
      const d = status().degraded;
      this.set(d === null ? 0 : d.critical ? 2 : 1);
    },
  );
  metrics.gauge('watchdog_positions_unmanaged', 'Held symbols in an open position_unmanaged incident', [], function () {
    this.set(status().unmanaged?.symbols.length ?? 0);
  });
  metrics.gauge('watchdog_executor_halted', '1 while the watchdog holds the executor halted', [], function () {
    this.set(status().executorHalted ? 1 : 0);
  });
  return {
    bars: metrics.counter('watchdog_bars_total', 'Bars received by symbol', ['symbol']),
    heartbeats: metrics.counter('watchdog_heartbeats_total', 'Gateway heartbeats received'),
    strategyHeartbeats: metrics.counter('watchdog_strategy_heartbeats_total', 'Strategy heartbeats received'),
    bad: metrics.counter('watchdog_bad_messages_total', 'Malformed messages ignored, by stream', ['kind']),
    oldBars: metrics.counter(
      'watchdog_old_bars_total',
      'Bars too old to show data is flowing now (a backfill after an outage); they resolve no incident',
    ),
    reconnects: metrics.counter(
      'watchdog_reconnects_total',
      'Gateway reconnects seen (heartbeat counter and our own commands)',
    ),
  };
}
