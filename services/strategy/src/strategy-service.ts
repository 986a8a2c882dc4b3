import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import {
  awaitStreams,
  consumers,
  encode,
  ensureConsumers,
  ensureStreams,
  kvBucketOptions,
  kvBuckets,
  Signal,
  signalSubject,
  streams,
  StrategyHeartbeat,
  subjects,
} from '@vigil/contracts';
import {
  addCommandService,
  Heartbeat,
  runDurableConsumer,
  type DurableConsumer,
  type Logger,
  type Metrics,
  type NatsConnection,
  type Readiness,
  type ServiceHealth,
} from '@vigil/service-kit';
import { createBarHandler, type BarOutcome } from './bar-handler.js';
import type { StrategyConfig } from './config.js';
import { DecisionLog } from './decisions.js';
import { strategyHealth } from './health.js';
import { pickStrategy } from './registry.js';
import { IndicatorStore } from './indicator-store.js';

export interface StrategyDeps {
  nc: NatsConnection;
  config: Pick<
    StrategyConfig,
    | 'STRATEGY'
    | 'MAX_SIGNAL_AGE_MS'
    | 'ORDER_QTY'
    | 'MA_FAST'
    | 'MA_SLOW'
    | 'MOMENTUM_LOOKBACK'
    | 'MOMENTUM_THRESHOLD_BPS'
    | 'PUBLISH_TIMEOUT_MS'
    | 'SIGNAL_SOURCES'
    | 'HEARTBEAT_INTERVAL_MS'
  > &
    // Default 1: a single nats-server (tests, `./vigil start`).
    Partial<Pick<StrategyConfig, 'JS_REPLICAS'>>;
  instanceId: string;
  /** Shown by `nats micro ls` for the NATS service `strategy` (startService's, from package.json). */
  version: string;
  /** Broker time (MarketClock.brokerNow), the only "now" freshness is judged by. */
  brokerNow: () => number | null;
  logger: Logger;
  metrics: Metrics;
  readiness?: Readiness;
  now?: () => number;
}

export interface StrategyService {
  /** Its account for `health.strategy`. */
  health(): ServiceHealth;
  stop(): Promise<void>;
}

/** Bars handled or queued at once; within the strategy consumer's max_ack_pending (1000). */
const BARS_IN_FLIGHT = 256;

/** Ensure streams, consumer and state bucket, then turn bars into signals until stopped. */
export async function createStrategy(deps: StrategyDeps): Promise<StrategyService> {
  const strategy = pickStrategy(deps.config);
  deps.readiness?.set('consumer', false, 'setting up streams and consumer');
  const jsm = await jetstreamManager(deps.nc);
  // SIGNALS is the strategy's own; BARS is the gateway's, which the strategy may only read: wait for it.
  await ensureStreams(jsm, [streams.signals], { replicas: deps.config.JS_REPLICAS ?? 1 });
  await awaitStreams(jsm, [streams.bars], { log: deps.logger });
  await ensureConsumers(jsm, [consumers.strategyBars]);
  const kv = await new Kvm(deps.nc).create(
    kvBuckets.strategyState.name,
    kvBucketOptions(kvBuckets.strategyState, deps.config.JS_REPLICAS ?? 1),
  );
  const js = jetstream(deps.nc);
  const now = deps.now ?? Date.now;
  const decisions = new DecisionLog();
  const outcomes: Record<BarOutcome, number> = { malformed: 0, already_seen: 0, no_signal: 0, stale: 0, signal: 0 };

  const handle = createBarHandler({
    strategy,
    store: new IndicatorStore(kv, strategy, deps.logger, deps.metrics, deps.config.PUBLISH_TIMEOUT_MS),
    brokerNow: deps.brokerNow,
    publish: async (signal) => {
      // nats.js waits 5 s for an ack by default; a signal (or state write) caught in a NATS restart would hold
      // every later bar that long. The handler's failure redelivers the bar; the msg id drops a copy the stream kept.
      await js.publish(signalSubject(signal.symbol), encode(Signal, signal), {
        msgID: signal.id,
        timeout: deps.config.PUBLISH_TIMEOUT_MS,
      });
    },
    logger: deps.logger,
    metrics: deps.metrics,
    maxSignalAgeMs: deps.config.MAX_SIGNAL_AGE_MS,
    signalSources: deps.config.SIGNAL_SOURCES,
    decisions,
    qty: deps.config.ORDER_QTY,
    ...(deps.now ? { now: deps.now } : {}),
  });

  const consumer: DurableConsumer = runDurableConsumer({
    nc: deps.nc,
    stream: consumers.strategyBars.stream,
    durable: consumers.strategyBars.durable_name,
    logger: deps.logger,
    metrics: deps.metrics,
    // One lane per symbol (each has its own subject): a symbol's bars in order, different symbols side by side,
    // so the last of a minute's bars does not wait for every other symbol's state write and signal ack.
    lane: (msg) => msg.subject,
    maxInFlight: BARS_IN_FLIGHT,
    handle: async (msg) => {
      const outcome = await handle(msg.subject, msg.data);
      outcomes[outcome] += 1;
      return outcome === 'malformed' ? 'term' : 'ack';
    },
  });
  const heartbeat = new Heartbeat({
    nc: deps.nc,
    subject: subjects.strategyHeartbeat,
    schema: StrategyHeartbeat,
    build: (seq) => {
      const sentAt = now();
      return {
        v: 1 as const,
        service: 'strategy',
        instanceId: deps.instanceId,
        strategy: strategy.name,
        seq,
        sentAt: new Date(sentAt).toISOString(),
        lastDecisions: decisions.snapshot(sentAt),
        signalSources: [...deps.config.SIGNAL_SOURCES],
      };
    },
    intervalMs: deps.config.HEARTBEAT_INTERVAL_MS,
    logger: deps.logger,
    metrics: deps.metrics,
    failures: { name: 'strategy_heartbeat_failures_total', help: 'Strategy heartbeats that could not be sent' },
  });
  heartbeat.start();
  // No commands: registered so `nats micro ls` (and $SRV.PING) lists the strategy with the other services.
  const service = await addCommandService({
    nc: deps.nc,
    name: 'strategy',
    version: deps.version,
    description: 'Vigil strategy: bars in, signals out (no commands)',
    endpoints: [],
    logger: deps.logger,
    metrics: deps.metrics,
  });
  deps.readiness?.set('consumer', true);
  deps.logger.info(
    {
      strategy: strategy.name,
      maxSignalAgeMs: deps.config.MAX_SIGNAL_AGE_MS,
      signalSources: deps.config.SIGNAL_SOURCES,
    },
    'strategy consuming bars',
  );
  return {
    health: () =>
      strategyHealth({
        outcomes,
        decisions: decisions.snapshot(now()),
        brokerClockKnown: deps.brokerNow() !== null,
      }),
    stop: async () => {
      heartbeat.stop();
      deps.readiness?.set('consumer', false, 'stopping');
      await consumer.stop();
      await service.stop().catch(() => {});
    },
  };
}
