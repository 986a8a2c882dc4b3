import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureStreams, streams, type GatewayHeartbeat, type GatewayState } from '@vigil/contracts';
import { createAlpacaRest, MarketClock, type AlpacaRest, type Logger, type Metrics, type Readiness } from '@vigil/service-kit';
import { toBar } from './bars.js';
import { serveGatewayCommands } from './commands.js';
import type { GatewayConfig } from './config.js';
import { GapFiller } from './gap-filler.js';
import { Heartbeat } from './heartbeat.js';
import { OutagePoller } from './outage-poller.js';
import { BarPublisher } from './publisher.js';
import { FeedSupervisor } from './supervisor.js';

export interface GatewayDeps {
  config: GatewayConfig;
  nc: NatsConnection;
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  instanceId: string;
  rest?: AlpacaRest;
}

export interface Gateway {
  supervisor: FeedSupervisor;
  publisher: BarPublisher;
  gapFiller: GapFiller;
  clock: MarketClock;
  heartbeat: () => GatewayHeartbeat;
  stop(): Promise<void>;
}

/** Wires the feed, the publisher, backfill, outage polling, heartbeats and commands together. */
export async function createGateway(deps: GatewayDeps): Promise<Gateway> {
  const { config, nc, logger, metrics, readiness } = deps;
  const symbols = [...new Set(config.SYMBOLS)];
  const rest = deps.rest ?? createAlpacaRest(config);
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, [streams.bars]);

  const clock = new MarketClock({ source: rest.clock, refreshMs: config.CLOCK_REFRESH_MS, logger, metrics });
  await clock.start();
  // Bars are stamped on the broker's clock, which is the one their `t` is on (and runs fast in the simulator).
  const brokerNow = () => clock.brokerNow() ?? Date.now();
  const marketPhase = () => clock.phase();
  const retry = { initialMs: config.BACKOFF_INITIAL_MS, maxMs: config.BACKOFF_MAX_MS };

  const publisher = new BarPublisher({ js: jetstream(nc), logger, metrics, retry });
  await publisher.loadLastPublished(jsm, symbols);
  const gapFiller = new GapFiller({ stocks: rest.stocks, publisher, symbols, feed: config.ALPACA_FEED, maxLookbackMs: config.BACKFILL_MAX_LOOKBACK_MS, retry, brokerNow, logger, metrics });

  let downSince: number | null = Date.now();
  readiness.set('feed', false, 'not streaming yet');
  const supervisor = new FeedSupervisor({
    settings: {
      streamUrl: `${config.ALPACA_STREAM_URL.replace(/\/+$/, '')}/v2/${config.ALPACA_FEED}`,
      keyId: config.APCA_API_KEY_ID,
      secret: config.APCA_API_SECRET_KEY,
      symbols,
      canarySymbol: config.CANARY_SYMBOL,
      handshakeTimeoutMs: config.HANDSHAKE_TIMEOUT_MS,
      pingIntervalMs: config.PING_INTERVAL_MS,
      pongTimeoutMs: config.PONG_TIMEOUT_MS,
      authTimeoutMs: config.AUTH_TIMEOUT_MS,
      subscribeTimeoutMs: config.SUBSCRIBE_TIMEOUT_MS,
      staleAfterMs: config.STALE_AFTER_MS,
      stableAfterMs: config.STABLE_AFTER_MS,
      policy: { ...retry, limitRetryMs: config.LIMIT_RETRY_MS, authRetryMs: config.AUTH_RETRY_MS, configRetryMs: config.CONFIG_RETRY_MS },
    },
    marketPhase,
    logger,
    metrics,
    onBar: (wire) => {
      if (!symbols.includes(wire.S)) return;
      const bar = toBar(wire, wire.S, 'live', config.ALPACA_FEED, new Date(brokerNow()));
      if (wire.T === 'u') publisher.offerCorrection(bar);
      else publisher.offer(bar);
    },
    onSubscribed: () => gapFiller.trigger('subscribed'),
    onStateChange: (state: GatewayState, reason: string) => {
      if (state === 'streaming') downSince = null;
      else downSince ??= Date.now();
      readiness.set('feed', state === 'streaming', `feed ${state}: ${reason}`);
    },
  });

  const poller = new OutagePoller({
    stocks: rest.stocks,
    publisher,
    symbols,
    feed: config.ALPACA_FEED,
    pollIntervalMs: config.POLL_INTERVAL_MS,
    pollAfterMs: config.POLL_AFTER_MS,
    maxLookbackMs: config.BACKFILL_MAX_LOOKBACK_MS,
    downSince: () => downSince,
    marketPhase,
    brokerNow,
    logger,
    metrics,
  });

  const heartbeatOf = (seq = 0): GatewayHeartbeat => {
    const s = supervisor.status();
    const phase = clock.phase();
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
      symbols,
      lastMessageAt: iso(s.lastDataAt),
      lastBarAt: iso(s.lastBarAt),
      reconnects: s.reconnects,
      polling: poller.isPolling(),
    };
  };
  const heartbeat = new Heartbeat(nc, heartbeatOf, config.HEARTBEAT_INTERVAL_MS, logger, metrics);
  const commandSubs = serveGatewayCommands(
    nc,
    {
      reconnect: (reason) => {
        supervisor.forceReconnect(reason);
        return supervisor.status().state;
      },
      status: () => heartbeatOf(),
    },
    logger,
    metrics,
  );

  supervisor.start();
  poller.start();
  heartbeat.start();

  return {
    supervisor,
    publisher,
    gapFiller,
    clock,
    heartbeat: () => heartbeatOf(),
    stop: async () => {
      for (const sub of commandSubs) sub.unsubscribe();
      heartbeat.stop();
      poller.stop();
      supervisor.stop();
      gapFiller.stop();
      clock.stop();
      // Whatever is queued still goes out before NATS drains.
      await Promise.race([publisher.idle(), new Promise((r) => setTimeout(r, 3000))]);
      publisher.stop();
    },
  };
}
