// A real nats-server, the Alpaca simulator and an in-process executor, for the integration tests.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { startSim, type Sim, type SimOptions } from '@vigil/alpaca-sim';
import {
  decodeAs,
  encode,
  ensureStreams,
  OrderEvent,
  Signal,
  signalId,
  signalSubject,
  streams,
  subjects,
  type BarSource,
  type CommandReply,
  type CommandRequest,
  type CommandSpec,
  type Side,
} from '@vigil/contracts';
import { createAlpacaRest, Metrics, requestCommand, startMarketClock, type AlpacaRest } from '@vigil/service-kit';
import { captureLogger, startNats, waitFor, type NatsServerHandle } from '@vigil/service-kit/testing';
import { createExecutor, type ExecutorDeps, type ExecutorService } from '../src/executor.js';

export interface Env {
  nats: NatsServerHandle;
  nc: NatsConnection;
  sim: Sim;
  rest: AlpacaRest;
  events: OrderEvent[];
  stop(): Promise<void>;
}

export async function startEnv(simOptions: SimOptions = {}): Promise<Env> {
  const nats = await startNats({ own: true });
  const nc = await connect({ servers: nats.url });
  // The strategy owns SIGNALS and creates it; the executor waits for it.
  await ensureStreams(await jetstreamManager(nc), [streams.signals]);
  const sim = await startSim({ restRateLimit: 100_000, ...simOptions });
  const rest = createAlpacaRest({
    APCA_API_KEY_ID: 'SIMKEY',
    APCA_API_SECRET_KEY: 'SIMSECRET',
    ALPACA_TRADING_URL: sim.url,
    ALPACA_DATA_URL: sim.url,
  });
  const events: OrderEvent[] = [];
  const sub: Subscription = nc.subscribe(subjects.ordersAll, {
    callback: (_err, m) => {
      const d = decodeAs(OrderEvent, m.subject, m.data);
      if (d.ok) events.push(d.value);
    },
  });
  return {
    nats,
    nc,
    sim,
    rest,
    events,
    stop: async () => {
      sub.unsubscribe();
      await nc.close();
      await sim.close();
      await nats.cleanup();
    },
  };
}

export const testConfig: ExecutorDeps['config'] = {
  SYMBOLS: ['SPY', 'AAPL', 'MSFT', 'QQQ', 'IWM'],
  ALLOW_SHORT: false,
  MAX_POSITION_QTY: 100,
  MAX_ORDER_NOTIONAL: 1_000_000,
  MAX_ORDERS_PER_MINUTE: 100,
  MAX_SIGNAL_AGE_MS: 120_000,
  TIME_IN_FORCE: 'day',
  RECONCILE_INTERVAL_MS: 60_000,
  ORDER_POLL_MS: 200,
  BROKER_RETRY_INITIAL_MS: 50,
  BROKER_RETRY_MAX_MS: 400,
  BROKER_MAX_ATTEMPTS: 4,
  FLATTEN_RETRY_MAX_MS: 400,
  FLATTEN_SCOPE: 'vigil',
  SELF_HALT_AFTER_MS: 180_000,
};

export interface RunningExecutor extends ExecutorService {
  lines: () => Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startExecutor(env: Env, config: Partial<ExecutorDeps['config']> = {}): Promise<RunningExecutor> {
  const { logger, lines } = captureLogger();
  const metrics = new Metrics('executor', { defaultMetrics: false });
  // Read once: the sim runs in real time, and faults injected by a test hit only the executor's calls.
  const clock = await startMarketClock({
    source: env.rest.clock,
    config: { CLOCK_REFRESH_MS: 60_000 },
    logger,
    metrics,
  });
  const executor = await createExecutor({
    nc: env.nc,
    rest: env.rest,
    brokerNow: () => clock.brokerNow(),
    market: () => ({ phase: clock.phase(), nextCloseMs: clock.nextCloseMs() }),
    config: { ...testConfig, ...config },
    logger,
    metrics,
    version: '0.0.1-test',
  });
  await waitFor('executor ready', () => lines().some((l) => l.msg === 'executor consuming signals'));
  return {
    ...executor,
    lines,
    close: async () => {
      await executor.stop();
      clock.stop();
    },
  };
}

/** A signal for the bar that just ended by the simulator's clock. */
export function freshSignal(
  env: Env,
  symbol: string,
  side: Side,
  qty: number,
  opts: { barAgoMin?: number; price?: number; strategy?: string; barSource?: BarSource } = {},
): Signal {
  const minute = Math.floor(env.sim.clock.now() / 60_000) * 60_000 - 60_000 * (1 + (opts.barAgoMin ?? 0));
  const barT = new Date(minute).toISOString().replace('.000Z', 'Z');
  return {
    v: 1,
    id: signalId(opts.strategy ?? 'ma_cross', symbol, barT),
    strategy: opts.strategy ?? 'ma_cross',
    symbol,
    side,
    qty,
    barT,
    barSource: opts.barSource ?? 'live',
    price: opts.price ?? 100,
    reason: 'test',
    inputs: {},
    createdAt: new Date().toISOString(),
  };
}

/** Publish into the SIGNALS stream; without dedup the stream stores a second copy, as a redelivery would bring. */
export async function publishSignal(env: Env, s: Signal, opts: { dedup?: boolean } = {}): Promise<void> {
  await jetstream(env.nc).publish(
    signalSubject(s.symbol),
    encode(Signal, s),
    opts.dedup === false ? {} : { msgID: s.id },
  );
}

/** Send a command as the watchdog or a person would; a flatten against the simulator can take a while. */
export function request<C extends CommandSpec>(
  env: Env,
  spec: C,
  body: CommandRequest<C>,
  timeoutMs = 15_000,
): Promise<CommandReply<C>> {
  return requestCommand(env.nc, spec, body, { timeoutMs });
}

export const eventsFor = (env: Env, id: string) => env.events.filter((e) => e.signalId === id);
export const ordersFor = (env: Env, clientOrderId: string) =>
  env.sim.broker.orders.filter((o) => o.client_order_id === clientOrderId);
export const command = { v: 1, requestedBy: 'test', by: 'person', reason: 'integration test' } as const;

/** Inject a simulator fault through its control API (`POST /sim/faults`). */
export async function injectFault(env: Env, spec: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${env.sim.url}/sim/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
  if (!res.ok) throw new Error(`fault not injected: ${res.status} ${await res.text()}`);
}

export async function clearFaults(env: Env, kind: string): Promise<void> {
  const res = await fetch(`${env.sim.url}/sim/faults?kind=${kind}`, { method: 'DELETE' });
  if (!res.ok) throw new Error(`faults not cleared: ${res.status} ${await res.text()}`);
}

/** The broker's open positions as `SYMBOL:qty`, sorted: what a flatten must leave empty. */
export async function openPositions(env: Env): Promise<string[]> {
  return (await env.rest.positions.getAllOpenPositions()).map((p) => `${p.symbol}:${p.qty}`).sort();
}
