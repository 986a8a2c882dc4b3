import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  ensureStreams,
  GatewayHeartbeat,
  HEARTBEAT_MAX_SYMBOLS,
  MINUTE_MS,
  streams,
  subjects,
  type GatewayState,
} from '@vigil/contracts';
import {
  createAlpacaRest,
  Heartbeat,
  startMarketClock,
  type AlpacaRest,
  type MarketClock,
  type Logger,
  type Metrics,
  type Readiness,
} from '@vigil/service-kit';
import { Auditor } from './auditor.js';
import type { RejectBar } from './bars.js';
import { serveGatewayCommands } from './commands.js';
import type { GatewayConfig } from './config.js';
import { DataPathTracker } from './data-path.js';
import { GapFiller } from './gap-filler.js';
import { liveBarHandler } from './live-bars.js';
import { OutagePoller } from './outage-poller.js';
import { BarPublisher } from './publisher.js';
import type { BarsSource } from './rest-bars.js';
import { RestBudget, type RestPriority } from './rest-budget.js';
import { StoredBars } from './stored-bars.js';
import { StreamPublisher } from './stream-publish.js';
import { FeedSupervisor } from './supervisor.js';
import { newestSymbols, SymbolUniverse } from './universe.js';
import { UniverseRefresher } from './universe-refresher.js';
import { storedSymbols } from './universe-sources.js';
import { UptimeTracker } from './uptime.js';

export interface GatewayDeps {
  config: GatewayConfig;
  nc: NatsConnection;
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  instanceId: string;
  /** Shown by `nats micro ls` for the NATS service `market-gateway` (startService's, from package.json). */
  version?: string;
  rest?: AlpacaRest;
  /** Whether this replica holds the gateway lease (replica.ts): every publish checks it. Default: always. */
  mayPublish?: () => boolean;
  /** Fetch the gap from REST at once, before the stream is up (a replica taking over from a dead leader). */
  backfillAtStart?: boolean;
}

export interface Gateway {
  supervisor: FeedSupervisor;
  publisher: BarPublisher;
  gapFiller: GapFiller;
  clock: MarketClock;
  heartbeat: () => GatewayHeartbeat;
  /** `flush: false` (stepping down): what is queued is dropped, for the next leader backfills it. */
  stop(opts?: { flush?: boolean }): Promise<void>;
}

/** Wires the feed, the publisher, backfill, outage polling, heartbeats and commands together. */
export async function createGateway(deps: GatewayDeps): Promise<Gateway> {
  const { config, nc, logger, metrics, readiness } = deps;
  const universe = new SymbolUniverse(config.SYMBOLS);
  const symbols = () => universe.list();
  const rest = deps.rest ?? createAlpacaRest(config);
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, [streams.bars], { replicas: config.JS_REPLICAS });
  // Under `*`, every symbol BARS holds is resumed; the broker's assets and the stream add the rest.
  if (universe.all) universe.add(await storedSymbols(jsm));
  const budget = new RestBudget({
    perMinute: config.ALPACA_REST_RATE_LIMIT,
    burst: Math.max(1, Math.floor(config.ALPACA_REST_RATE_LIMIT / 10)),
    logger,
    metrics,
  });
  const barsFor = (priority: RestPriority): BarsSource => ({
    stocks: rest.stocks,
    maxSymbolsPerRequest: config.REST_SYMBOLS_PER_REQUEST,
    beforeRequest: () => budget.acquire(priority),
  });

  const clock = await startMarketClock({ source: rest.clock, config, logger, metrics });
  // Bars are stamped on the broker's clock, which is the one their `t` is on (and runs fast in the simulator).
  const brokerNow = () => clock.brokerNow() ?? Date.now();
  const marketPhase = () => clock.phase();
  const retry = { initialMs: config.BACKOFF_INITIAL_MS, maxMs: config.BACKOFF_MAX_MS };

  // The gap filler needs the publisher and the publisher's overflow recovery needs the gap filler.
  let gapFiller: GapFiller | null = null;
  const stored = new StoredBars();
  const stream = new StreamPublisher({ nc, timeoutMs: config.PUBLISH_TIMEOUT_MS });
  const publisher = new BarPublisher({
    stream,
    logger,
    metrics,
    retry,
    maxBuffered: config.BUFFER_MAX_BARS,
    onOverflowCleared: () => gapFiller?.trigger('bar buffer overflowed'),
    onStored: (bar, duplicate) => stored.record(bar, duplicate),
    ...(deps.mayPublish && { mayPublish: deps.mayPublish }),
  });
  await publisher.loadLastPublished(jsm, symbols());
  const badBars = metrics.counter(
    'gateway_invalid_bars_total',
    'Bars dropped because they are not valid bars (e.g. low above high), by source',
    ['source'],
  );
  const rejectBar: RejectBar = (symbol, source, wire, error) => {
    badBars.inc({ source });
    logger.error({ symbol, source, bar: wire, error }, 'dropped a bar from Alpaca that is not a valid bar');
  };
  const auditor = new Auditor({
    bars: barsFor('audit'),
    publisher,
    stored,
    symbols,
    feed: config.ALPACA_FEED,
    intervalMs: config.AUDIT_INTERVAL_MS,
    windowMs: config.AUDIT_WINDOW_MS,
    lagMs: config.AUDIT_LAG_MS,
    rejectBar,
    brokerNow,
    logger,
    metrics,
  });
  gapFiller = new GapFiller({
    bars: barsFor('backfill'),
    publisher,
    symbols,
    feed: config.ALPACA_FEED,
    maxLookbackMs: config.BACKFILL_MAX_LOOKBACK_MS,
    rejectBar,
    retry,
    brokerNow,
    onBackfilled: () => auditor.trigger('backfill'),
    logger,
    metrics,
  });
  const filler = gapFiller;
  metrics.gauge(
    'gateway_last_bar_age_seconds',
    'Broker time since the end of the last bar stored in JetStream, per symbol',
    ['symbol'],
    function () {
      const now = brokerNow();
      for (const [symbol, t] of publisher.lastStored()) this.set({ symbol }, Math.max(0, (now - t - MINUTE_MS) / 1000));
    },
  );
  const uptime = new UptimeTracker();
  const streamingWaiters = new Set<() => void>();

  let downSince: number | null = Date.now();
  readiness.set('feed', false, 'not streaming yet');
  const supervisor = new FeedSupervisor({
    settings: {
      streamUrl: `${config.ALPACA_STREAM_URL.replace(/\/+$/, '')}/v2/${config.ALPACA_FEED}`,
      keyId: config.APCA_API_KEY_ID,
      secret: config.APCA_API_SECRET_KEY,
      symbols: universe.subscription(),
      canarySymbol: config.CANARY_SYMBOL,
      handshakeTimeoutMs: config.HANDSHAKE_TIMEOUT_MS,
      pingIntervalMs: config.PING_INTERVAL_MS,
      pongTimeoutMs: config.PONG_TIMEOUT_MS,
      maxFrameBytes: config.STREAM_MAX_FRAME_BYTES,
      authTimeoutMs: config.AUTH_TIMEOUT_MS,
      subscribeTimeoutMs: config.SUBSCRIBE_TIMEOUT_MS,
      staleAfterMs: config.STALE_AFTER_MS,
      stableAfterMs: config.STABLE_AFTER_MS,
      policy: {
        ...retry,
        limitRetryMs: config.LIMIT_RETRY_MS,
        authRetryMs: config.AUTH_RETRY_MS,
        configRetryMs: config.CONFIG_RETRY_MS,
      },
    },
    marketPhase,
    logger,
    metrics,
    onBar: liveBarHandler({
      universe,
      feed: config.ALPACA_FEED,
      brokerNow,
      publisher,
      gaps: filler,
      rejectBar,
    }),
    onSubscribed: () => filler.trigger('subscribed'),
    onStateChange: (state: GatewayState, reason: string) => {
      uptime.observe(Date.now(), marketPhase() === 'open', state === 'streaming');
      if (state === 'streaming') {
        downSince = null;
        for (const wake of streamingWaiters) wake();
      } else downSince ??= Date.now();
      readiness.set('feed', state === 'streaming', `feed ${state}: ${reason}`);
    },
  });

  const poller = new OutagePoller({
    bars: barsFor('poll'),
    publisher,
    symbols,
    feed: config.ALPACA_FEED,
    pollIntervalMs: config.POLL_INTERVAL_MS,
    pollAfterMs: config.POLL_AFTER_MS,
    maxLookbackMs: config.BACKFILL_MAX_LOOKBACK_MS,
    rejectBar,
    downSince: () => downSince,
    marketPhase,
    brokerNow,
    logger,
    metrics,
  });

  const symbolsOf = (): Pick<GatewayHeartbeat, 'symbols' | 'lastBarTBySymbol' | 'allSymbols' | 'symbolCount'> => {
    const named = universe.all
      ? newestSymbols(publisher.lastStored(), HEARTBEAT_MAX_SYMBOLS)
      : [...publisher.lastStored()];
    return {
      symbols: universe.all ? named.map(([symbol]) => symbol) : [...universe.list()],
      ...(universe.all && { allSymbols: true }),
      symbolCount: universe.size,
      lastBarTBySymbol: Object.fromEntries(named.map(([symbol, t]) => [symbol, new Date(t).toISOString()])),
    };
  };
  const refresher = universe.all
    ? new UniverseRefresher({
        assets: rest.assets,
        universe,
        intervalMs: config.UNIVERSE_REFRESH_MS,
        onGrown: () => filler.trigger('new symbols among the active assets'),
        logger,
        metrics,
      })
    : null;

  // Sampled with every heartbeat (at least once a second), so a change is stamped up to one interval late and a
  // shorter backfill goes unseen; hooks in the feed, filler and poller would also log the instant of `live`
  // between each resubscription and the backfill it starts.
  const dataPath = new DataPathTracker({ now: Date.now, logger, metrics });
  const heartbeatOf = (seq = 0): GatewayHeartbeat => {
    const s = supervisor.status();
    const phase = clock.phase();
    uptime.observe(Date.now(), phase === 'open', s.state === 'streaming');
    const path = dataPath.observe(
      { streaming: s.state === 'streaming', backfilling: filler.isBackfilling(), polling: poller.isPolling() },
      `feed ${s.state}: ${s.reason}`,
    );
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      v: 1,
      service: 'market-gateway',
      instanceId: deps.instanceId,
      seq,
      sentAt: new Date().toISOString(),
      state: s.state,
      reason: s.reason,
      marketOpen: phase === 'unknown' ? null : phase === 'open',
      ...symbolsOf(),
      connectedSince: iso(s.streamingSince),
      lastMessageAt: iso(s.lastDataAt),
      lastBarAt: iso(s.lastBarAt),
      barsLastMinute: publisher.publishedLastMinute(),
      reconnects: s.reconnects,
      uptimePct: uptime.percent(),
      polling: poller.isPolling(),
      dataPath: path.path,
      dataPathSince: new Date(path.since).toISOString(),
      liveDownSince: iso(downSince),
      bufferedBars: publisher.buffered(),
      bufferFill: publisher.bufferFill(),
      audit: auditor.report(),
    };
  };
  // `md.heartbeat` carries the feed's state and reason, so the watchdog and operators see why, not only whether.
  const heartbeat = new Heartbeat({
    nc,
    subject: subjects.heartbeat,
    schema: GatewayHeartbeat,
    build: heartbeatOf,
    intervalMs: config.HEARTBEAT_INTERVAL_MS,
    // Only the lease holder speaks on md.heartbeat: a leader waking fenced must not look like the gateway.
    ...(deps.mayPublish && { when: deps.mayPublish }),
    logger,
    metrics,
    failures: { name: 'gateway_heartbeat_failures_total', help: 'Heartbeats that could not be sent' },
  });
  const untilStreaming = (timeoutMs: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        streamingWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      streamingWaiters.add(done);
    });
  const commands = await serveGatewayCommands(
    nc,
    {
      reconnect: async (reason) => {
        const resubscribed = untilStreaming(config.RECONNECT_REPLY_TIMEOUT_MS);
        supervisor.forceReconnect(reason);
        await resubscribed;
        return supervisor.status().state;
      },
      status: () => heartbeatOf(),
    },
    logger,
    metrics,
    deps.version,
  );

  let stopped = false;
  void (async () => {
    for await (const s of nc.status()) {
      if (stopped) break; // a replica that stepped down: its publisher is gone
      if (s.type === 'reconnect') publisher.reconnected();
    }
  })();

  if (deps.backfillAtStart) filler.trigger('took over the gateway lease');
  supervisor.start();
  poller.start();
  auditor.start();
  refresher?.start();
  heartbeat.start();

  return {
    supervisor,
    publisher,
    gapFiller: filler,
    clock,
    heartbeat: () => heartbeatOf(),
    stop: async ({ flush = true } = {}) => {
      stopped = true;
      await commands.stop().catch(() => {});
      heartbeat.stop();
      poller.stop();
      auditor.stop();
      refresher?.stop();
      budget.stop();
      supervisor.stop();
      filler.stop();
      clock.stop();
      // Whatever is queued still goes out before NATS drains.
      if (flush) await Promise.race([publisher.idle(), new Promise((r) => setTimeout(r, 3000))]);
      publisher.stop();
      stream.close();
    },
  };
}
