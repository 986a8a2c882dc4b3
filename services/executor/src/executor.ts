import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { consumers, ensureConsumers, ensureStreams, kvBuckets, streams } from '@vigil/contracts';
import {
  backoffDelay,
  runDurableConsumer,
  type AlpacaRest,
  type DurableConsumer,
  type Logger,
  type Metrics,
  type NatsConnection,
  type Readiness,
} from '@vigil/service-kit';
import { setTimeout as sleep } from 'node:timers/promises';
import { brokerCaller } from './broker-call.js';
import { registerCommands } from './commands.js';
import type { ExecutorConfig } from './config.js';
import { ExecutorState } from './executor-state.js';
import { Flattener } from './flatten.js';
import { HaltSwitch } from './halt.js';
import { orderEventPublisher } from './order-events.js';
import { OrderTracker } from './order-tracker.js';
import { createSignalHandler } from './signal-handler.js';

export const EXECUTOR_VERSION = '0.1.0';

export interface ExecutorDeps {
  nc: NatsConnection;
  rest: Pick<AlpacaRest, 'orders' | 'positions'>;
  /** Broker time (MarketClock.brokerNow): signal age and the orders-per-minute window run on it. */
  brokerNow: () => number | null;
  config: Pick<
    ExecutorConfig,
    | 'MAX_POSITION_QTY'
    | 'MAX_ORDER_NOTIONAL'
    | 'MAX_ORDERS_PER_MINUTE'
    | 'MAX_SIGNAL_AGE_MS'
    | 'TIME_IN_FORCE'
    | 'RECONCILE_INTERVAL_MS'
    | 'ORDER_POLL_MS'
    | 'BROKER_RETRY_INITIAL_MS'
    | 'BROKER_RETRY_MAX_MS'
    | 'BROKER_MAX_ATTEMPTS'
    | 'FLATTEN_RETRY_MAX_MS'
  >;
  logger: Logger;
  metrics: Metrics;
  readiness?: Readiness;
}

export interface ExecutorService {
  tracker: OrderTracker;
  halt: HaltSwitch;
  stop(): Promise<void>;
}

/**
 * Wire the executor: state from KV (halt, interrupted flatten), commands as a NATS service, then — once
 * positions and open orders are read from the broker — signals from the durable consumer. Commands work
 * even while the broker is unreachable; signals wait until the book is known, so limits are never checked
 * against an empty one.
 */
export async function createExecutor(deps: ExecutorDeps): Promise<ExecutorService> {
  const { config, logger, metrics } = deps;
  const log = logger.child({ component: 'executor' });
  deps.readiness?.set('signals', false, 'starting');
  const jsm = await jetstreamManager(deps.nc);
  await ensureStreams(jsm, [streams.signals, streams.orders]);
  await ensureConsumers(jsm, [consumers.executorSignals]);
  const kv = await new Kvm(deps.nc).create(kvBuckets.executorState.name, { history: kvBuckets.executorState.history });

  const retry = { initialMs: config.BROKER_RETRY_INITIAL_MS, maxMs: config.BROKER_RETRY_MAX_MS };
  const call = brokerCaller({ policy: retry, maxAttempts: config.BROKER_MAX_ATTEMPTS, logger, metrics });
  const publish = orderEventPublisher(deps.nc, logger, metrics);
  const state = new ExecutorState(kv, logger);
  const tracker = new OrderTracker({ orders: deps.rest.orders, positions: deps.rest.positions, call, publish, logger, metrics });
  const halt = new HaltSwitch(state, logger, metrics);
  await halt.load();
  const flattener = new Flattener({
    orders: deps.rest.orders,
    positions: deps.rest.positions,
    call,
    state,
    halt,
    tracker,
    retry: { initialMs: config.BROKER_RETRY_INITIAL_MS, maxMs: config.FLATTEN_RETRY_MAX_MS },
    logger,
    metrics,
  });
  await flattener.resumeInterrupted();
  const service = await registerCommands({ nc: deps.nc, halt, flattener, logger, metrics, version: EXECUTOR_VERSION });

  const handle = createSignalHandler({
    orders: deps.rest.orders,
    call,
    tracker,
    halt: () => halt.current(),
    exclusive: (fn) => flattener.exclusive(fn),
    publish,
    brokerNow: deps.brokerNow,
    limits: {
      maxPositionQty: config.MAX_POSITION_QTY,
      maxOrderNotional: config.MAX_ORDER_NOTIONAL,
      maxOrdersPerMinute: config.MAX_ORDERS_PER_MINUTE,
      maxSignalAgeMs: config.MAX_SIGNAL_AGE_MS,
    },
    timeInForce: config.TIME_IN_FORCE,
    redelivery: { initialMs: 1_000, maxMs: 60_000 },
    logger,
    metrics,
  });

  const aborted = new AbortController();
  let consumer: DurableConsumer | null = null;
  const boot = (async () => {
    for (let attempt = 0; !aborted.signal.aborted; attempt++) {
      try {
        await tracker.reconcile();
        break;
      } catch (err) {
        const delayMs = backoffDelay(retry, attempt);
        deps.readiness?.set('signals', false, 'cannot read positions from the broker');
        log.error({ err, delayMs }, 'start-up reconcile failed; signals wait until the broker answers');
        await sleep(delayMs, undefined, { signal: aborted.signal }).catch(() => undefined);
      }
    }
    if (aborted.signal.aborted) return;
    tracker.start(config.ORDER_POLL_MS, config.RECONCILE_INTERVAL_MS);
    consumer = runDurableConsumer({
      nc: deps.nc,
      stream: consumers.executorSignals.stream,
      durable: consumers.executorSignals.durable_name,
      logger,
      metrics,
      handle: (m) => handle({ subject: m.subject, data: m.data, deliveryCount: m.info.deliveryCount }),
    });
    deps.readiness?.set('signals', true);
    log.info({ halt: halt.current() }, 'executor consuming signals');
  })();

  return {
    tracker,
    halt,
    stop: async () => {
      deps.readiness?.set('signals', false, 'stopping');
      aborted.abort();
      await boot;
      await (consumer as DurableConsumer | null)?.stop();
      await tracker.stop();
      flattener.stop();
      await service.stop();
    },
  };
}
