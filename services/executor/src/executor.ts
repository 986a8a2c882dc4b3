import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import {
  awaitStreams,
  consumers,
  ensureConsumers,
  ensureStreams,
  kvBucketOptions,
  kvBuckets,
  streams,
} from '@vigil/contracts';
import {
  retry,
  RetryAborted,
  runDurableConsumer,
  type RetryInfo,
  type AlpacaRest,
  type DurableConsumer,
  type Logger,
  type Metrics,
  type NatsConnection,
  type Readiness,
  type ServiceHealth,
} from '@vigil/service-kit';
import { brokerCaller } from './broker-call.js';
import { registerCommands } from './commands.js';
import { executorConfig, type ExecutorConfig } from './config.js';
import { ExecutorState } from './executor-state.js';
import { Flattener } from './flatten.js';
import { executorHealth } from './health.js';
import { HaltSwitch } from './halt.js';
import { orderEventPublisher } from './order-events.js';
import { OrderTracker } from './order-tracker.js';
import type { MarketView } from './risk.js';
import { SelfHaltGuard } from './self-halt-guard.js';
import { createSignalHandler } from './signal-handler.js';

/** Signals handled or queued at once; within the executor consumer's max_ack_pending (100). */
const SIGNALS_IN_FLIGHT = 32;

export interface ExecutorDeps {
  nc: NatsConnection;
  rest: Pick<AlpacaRest, 'orders' | 'positions'>;
  /** Broker time (MarketClock.brokerNow): signal age and the orders-per-minute window run on it. */
  brokerNow: () => number | null;
  /** Market phase and next close (MarketClock.phase, .nextCloseMs): orders go out only while open. */
  market: () => MarketView;
  config: Pick<
    ExecutorConfig,
    | 'SYMBOLS'
    | 'ALLOW_SHORT'
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
    | 'FLATTEN_SCOPE'
  > &
    Partial<Pick<ExecutorConfig, 'RESUME_AFTER_FLATTEN' | 'SELF_HALT_AFTER_MS' | 'JS_REPLICAS'>>;
  logger: Logger;
  metrics: Metrics;
  readiness?: Readiness;
  /** Shown by `nats micro ls` for the NATS service `executor` (startService's, from package.json). */
  version: string;
}

export interface ExecutorService {
  tracker: OrderTracker;
  halt: HaltSwitch;
  /** Its account for `health.executor`. */
  health(): ServiceHealth;
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
  // ORDERS is the executor's own. SIGNALS is the strategy's, which the executor may only read: it waits for
  // it below, after its commands are up, so a new deployment can be halted or flattened before the strategy runs.
  await ensureStreams(jsm, [streams.orders], { replicas: config.JS_REPLICAS ?? 1 });
  const kv = await new Kvm(deps.nc).create(
    kvBuckets.executorState.name,
    kvBucketOptions(kvBuckets.executorState, config.JS_REPLICAS ?? 1),
  );

  const retryPolicy = { initialMs: config.BROKER_RETRY_INITIAL_MS, maxMs: config.BROKER_RETRY_MAX_MS };
  const call = brokerCaller({ policy: retryPolicy, maxAttempts: config.BROKER_MAX_ATTEMPTS, logger, metrics });
  const publish = orderEventPublisher(deps.nc, logger, metrics);
  const state = new ExecutorState(kv, logger);
  const tracker = new OrderTracker({
    orders: deps.rest.orders,
    positions: deps.rest.positions,
    call,
    publish,
    logger,
    metrics,
  });
  const afterMs = config.SELF_HALT_AFTER_MS ?? executorConfig.shape.SELF_HALT_AFTER_MS.parse(undefined);
  const selfHalt = new SelfHaltGuard({ ...deps, afterMs });
  const halt = new HaltSwitch(state, logger, metrics, config.RESUME_AFTER_FLATTEN ?? 'manual', Date.now, () =>
    selfHalt.watchdogHeardAt(),
  );
  await halt.load();
  const flattener = new Flattener({
    orders: deps.rest.orders,
    positions: deps.rest.positions,
    scope: config.FLATTEN_SCOPE,
    symbols: config.SYMBOLS,
    call,
    state,
    halt,
    tracker,
    retry: { initialMs: config.BROKER_RETRY_INITIAL_MS, maxMs: config.FLATTEN_RETRY_MAX_MS },
    logger,
    metrics,
  });
  await flattener.resumeInterrupted();
  const service = await registerCommands({ nc: deps.nc, halt, flattener, logger, metrics, version: deps.version });
  selfHalt.start(halt, publish);

  // The orders-per-minute window survives a restart; unreadable, it counts as full for a minute (safe side).
  const stored = await state.orderWindow();
  const recentOrders =
    stored === 'invalid' ? Array<number>(config.MAX_ORDERS_PER_MINUTE).fill(deps.brokerNow() ?? Date.now()) : stored;
  if (stored === 'invalid')
    log.error(
      { assumed: recentOrders.length },
      'stored orders-per-minute window unreadable; counting the last minute as full',
    );

  let ordersPlaced = 0;
  const handle = createSignalHandler({
    orders: deps.rest.orders,
    call,
    tracker,
    halt: () => halt.current(),
    placing: (fn) => flattener.placing(fn),
    publish,
    brokerNow: deps.brokerNow,
    market: deps.market,
    limits: {
      maxPositionQty: config.MAX_POSITION_QTY,
      maxOrderNotional: config.MAX_ORDER_NOTIONAL,
      maxOrdersPerMinute: config.MAX_ORDERS_PER_MINUTE,
      maxSignalAgeMs: config.MAX_SIGNAL_AGE_MS,
    },
    symbols: config.SYMBOLS,
    allowShort: config.ALLOW_SHORT,
    recentOrders,
    saveRecentOrders: (times) => state.setOrderWindow(times),
    timeInForce: config.TIME_IN_FORCE,
    onPlaced: () => {
      ordersPlaced += 1;
    },
    redelivery: { initialMs: 1_000, maxMs: 60_000 },
    logger,
    metrics,
  });

  const aborted = new AbortController();
  let consumer: DurableConsumer | null = null;
  const boot = (async () => {
    // Both start-up steps retry until they succeed or the executor stops (RetryAborted).
    const untilStopped = {
      policy: retryPolicy,
      signal: aborted.signal,
      logger: log,
      metrics,
      level: 'error' as const,
      fields: ({ err, delayMs }: RetryInfo) => ({ err, delayMs }),
    };
    try {
      await retry(
        async () => {
          await awaitStreams(jsm, [streams.signals], { log, signal: aborted.signal });
          await ensureConsumers(jsm, [consumers.executorSignals]);
        },
        {
          ...untilStopped,
          label: 'signals consumer setup',
          message: 'cannot set up the signals consumer; trying again',
          onRetry: () => deps.readiness?.set('signals', false, 'cannot set up the signals consumer'),
        },
      );
      await retry(() => tracker.reconcile(), {
        ...untilStopped,
        label: 'start-up reconcile',
        message: 'start-up reconcile failed; signals wait until the broker answers',
        onRetry: () => deps.readiness?.set('signals', false, 'cannot read positions from the broker'),
      });
    } catch (err) {
      if (err instanceof RetryAborted) return;
      throw err;
    }
    if (aborted.signal.aborted) return;
    tracker.start(config.ORDER_POLL_MS, config.RECONCILE_INTERVAL_MS);
    consumer = runDurableConsumer({
      nc: deps.nc,
      stream: consumers.executorSignals.stream,
      durable: consumers.executorSignals.durable_name,
      logger,
      metrics,
      // One lane per symbol: a symbol's signals in order, different symbols' orders on their way side by side
      // (flattens still wait for them all), none waiting for another's events, positions read or ack.
      lane: (m) => m.subject,
      maxInFlight: SIGNALS_IN_FLIGHT,
      handle: (m) => handle({ subject: m.subject, data: m.data, deliveryCount: m.info.deliveryCount }),
    });
    deps.readiness?.set('signals', true);
    log.info({ halt: halt.current() }, 'executor consuming signals');
  })();

  return {
    tracker,
    halt,
    health: () =>
      executorHealth({
        halt: halt.current(),
        openOrders: tracker.openOrders().length,
        ordersPlaced,
        watchdogHeardAt: selfHalt.watchdogHeardAt(),
        now: Date.now(),
      }),
    stop: async () => {
      deps.readiness?.set('signals', false, 'stopping');
      selfHalt.stop();
      aborted.abort();
      await boot;
      await (consumer as DurableConsumer | null)?.stop();
      await tracker.stop();
      flattener.stop();
      await service.stop();
    },
  };
}
