import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { consumers, encode, ensureConsumers, ensureStreams, kvBuckets, Signal, signalSubject, streams } from '@vigil/contracts';
import { runDurableConsumer, type DurableConsumer, type Logger, type Metrics, type NatsConnection, type Readiness } from '@vigil/service-kit';
import { createBarHandler } from './bar-handler.js';
import type { StrategyConfig } from './config.js';
import { pickStrategy } from './registry.js';
import { StateStore } from './state-store.js';

export interface StrategyDeps {
  nc: NatsConnection;
  config: Pick<StrategyConfig, 'STRATEGY' | 'MAX_SIGNAL_AGE_MS' | 'ORDER_QTY' | 'MA_FAST' | 'MA_SLOW' | 'MOMENTUM_LOOKBACK' | 'MOMENTUM_THRESHOLD_BPS' | 'PUBLISH_TIMEOUT_MS'>;
  /** Broker time (MarketClock.brokerNow), the only "now" freshness is judged by. */
  brokerNow: () => number | null;
  logger: Logger;
  metrics: Metrics;
  readiness?: Readiness;
  now?: () => number;
}

export interface StrategyService {
  stop(): Promise<void>;
}

/** Ensure streams, consumer and state bucket, then turn bars into signals until stopped. */
export async function createStrategy(deps: StrategyDeps): Promise<StrategyService> {
  const strategy = pickStrategy(deps.config);
  deps.readiness?.set('consumer', false, 'setting up streams and consumer');
  const jsm = await jetstreamManager(deps.nc);
  await ensureStreams(jsm, [streams.bars, streams.signals]);
  await ensureConsumers(jsm, [consumers.strategyBars]);
  const kv = await new Kvm(deps.nc).create(kvBuckets.strategyState.name, { history: kvBuckets.strategyState.history });
  const js = jetstream(deps.nc);

  const handle = createBarHandler({
    strategy,
    store: new StateStore(kv, strategy, deps.logger, deps.metrics, deps.config.PUBLISH_TIMEOUT_MS),
    brokerNow: deps.brokerNow,
    publish: async (signal) => {
      // nats.js waits 5 s for an ack by default; a signal (or state write) caught in a NATS restart would hold
      // every later bar that long. The handler's failure redelivers the bar; the msg id drops a copy the stream kept.
      await js.publish(signalSubject(signal.symbol), encode(Signal, signal), { msgID: signal.id, timeout: deps.config.PUBLISH_TIMEOUT_MS });
    },
    logger: deps.logger,
    metrics: deps.metrics,
    maxSignalAgeMs: deps.config.MAX_SIGNAL_AGE_MS,
    qty: deps.config.ORDER_QTY,
    ...(deps.now ? { now: deps.now } : {}),
  });

  const consumer: DurableConsumer = runDurableConsumer({
    nc: deps.nc,
    stream: consumers.strategyBars.stream,
    durable: consumers.strategyBars.durable_name,
    logger: deps.logger,
    metrics: deps.metrics,
    handle: async (msg) => ((await handle(msg.subject, msg.data)) === 'malformed' ? 'term' : 'ack'),
  });
  deps.readiness?.set('consumer', true);
  deps.logger.info({ strategy: strategy.name, maxSignalAgeMs: deps.config.MAX_SIGNAL_AGE_MS }, 'strategy consuming bars');
  return {
    stop: async () => {
      deps.readiness?.set('consumer', false, 'stopping');
      await consumer.stop();
    },
  };
}
