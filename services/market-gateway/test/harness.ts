import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startSim, type Sim, type SimOptions } from '@vigil/alpaca-sim';
import { Bar, decodeStored, streams } from '@vigil/contracts';
import { Metrics, parseConfig, Readiness } from '@vigil/service-kit';
import { captureLogger, startNats, waitFor, type NatsServerHandle } from '@vigil/service-kit/testing';
import { GatewayConfig } from '../src/config.js';
import { createGateway, type Gateway } from '../src/gateway.js';

/** Timings for an accelerated session: one simulated minute is 150 ms of ours. */
export const FAST = {
  msPerMinute: 150,
  env: {
    PING_INTERVAL_MS: '300',
    PONG_TIMEOUT_MS: '300',
    HANDSHAKE_TIMEOUT_MS: '600',
    AUTH_TIMEOUT_MS: '600',
    SUBSCRIBE_TIMEOUT_MS: '600',
    STALE_AFTER_MS: '900',
    STABLE_AFTER_MS: '1500',
    BACKOFF_INITIAL_MS: '50',
    BACKOFF_MAX_MS: '400',
    LIMIT_RETRY_MS: '250',
    AUTH_RETRY_MS: '1000',
    CONFIG_RETRY_MS: '1000',
    POLL_INTERVAL_MS: '300',
    POLL_AFTER_MS: '300',
    CLOCK_REFRESH_MS: '200',
    HEARTBEAT_INTERVAL_MS: '200',
    BACKFILL_MAX_LOOKBACK_MS: '1800000',
  },
};

export interface World {
  server: NatsServerHandle;
  sim: Sim;
  nc: NatsConnection;
  jsm: JetStreamManager;
  startGateway(
    env?: Record<string, string>,
  ): Promise<{ gateway: Gateway; metrics: Metrics; lines: () => Record<string, unknown>[] }>;
  storedBars(): Promise<Bar[]>;
  close(): Promise<void>;
}

export async function world(simOptions: SimOptions = {}): Promise<World> {
  const server = await startNats({ own: true });
  const sim = await startSim({
    symbols: ['SPY', 'AAPL', 'ILLQ'],
    sparseSymbols: ['ILLQ'],
    serverPingIntervalMs: 200,
    zombieGraceMs: 1200,
    ...simOptions,
    clock: { msPerMinute: FAST.msPerMinute, ...simOptions.clock },
  });
  const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const jsm = await jetstreamManager(nc);
  const gateways: Gateway[] = [];
  const conns: NatsConnection[] = [nc];
  return {
    server,
    sim,
    nc,
    jsm,
    async startGateway(env = {}) {
      const { keyId: key, secret } = sim.credentials;
      const config = parseConfig(GatewayConfig, {
        NATS_URL: server.url,
        APCA_API_KEY_ID: key,
        APCA_API_SECRET_KEY: secret,
        ALPACA_STREAM_URL: sim.wsUrl,
        ALPACA_DATA_URL: sim.url,
        ALPACA_TRADING_URL: sim.url,
        SYMBOLS: SYMBOLS.join(','),
        ...FAST.env,
        ...env,
      });
      const gwNc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
      conns.push(gwNc);
      const { logger, lines } = captureLogger({ level: 'debug' });
      const metrics = new Metrics('market-gateway', { defaultMetrics: false });
      const gateway = await createGateway({
        config,
        nc: gwNc,
        logger,
        metrics,
        readiness: new Readiness(),
        instanceId: `gw-test-${gateways.length}`,
      });
      gateways.push(gateway);
      return { gateway, metrics, lines };
    },
    async storedBars() {
      const info = await jsm.streams.info(streams.bars.name).catch(() => null);
      if (!info || info.state.messages === 0) return [];
      const bars: Bar[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage(streams.bars.name, { seq }).catch(() => null);
        if (m) bars.push(decodeStored(Bar, m));
      }
      return bars;
    },
    async close() {
      for (const g of gateways) await g.stop().catch(() => {});
      for (const c of conns) await c.close().catch(() => {});
      await sim.close();
      await server.cleanup();
    },
  };
}

/**
 * Every bar the simulator emitted (up to its last completed minute) is stored exactly once, each symbol's
 * bars are in time order, and nothing is stored twice. Returns a description of any breach. A bar the audit
 * stored is out of order by nature (it fills a hole after the bars that followed it) and is not held to it.
 */
export function exactlyOnce(
  stored: Bar[],
  emitted: (symbol: string) => readonly string[],
  symbols: string[],
): string[] {
  const problems: string[] = [];
  for (const symbol of symbols) {
    const mine = stored.filter((b) => b.symbol === symbol && b.revision === 0).map((b) => new Date(b.t).toISOString());
    const seen = new Set<string>();
    for (const t of mine) {
      if (seen.has(t)) problems.push(`${symbol} ${t} stored twice`);
      seen.add(t);
    }
    const inOrder = stored
      .filter((b) => b.symbol === symbol && b.revision === 0 && b.source !== 'audit')
      .map((b) => new Date(b.t).toISOString());
    for (let i = 1; i < inOrder.length; i++)
      if (inOrder[i]! <= inOrder[i - 1]!) problems.push(`${symbol} out of order at ${inOrder[i]}`);
    for (const t of emitted(symbol)) if (!seen.has(new Date(t).toISOString())) problems.push(`${symbol} ${t} missing`);
  }
  return problems;
}

export const SYMBOLS = ['SPY', 'AAPL', 'ILLQ'];
/**
 * Let `minutes` more simulated minutes pass (counted on the first symbol, which must have a bar every minute),
 * then give the gateway time to store every bar emitted so far and report any breach of exactly-once against that
 * snapshot (empty when all is well).
 */
export async function settle(world: World, minutes: number, symbols: readonly string[] = SYMBOLS): Promise<string[]> {
  const clockSymbol = symbols[0]!;
  const target = world.sim.emittedBars(clockSymbol).length + minutes;
  await waitFor(`${minutes} more simulated minutes`, () => world.sim.emittedBars(clockSymbol).length >= target, {
    timeoutMs: 30_000,
  });
  const snapshot = new Map(symbols.map((s) => [s, [...world.sim.emittedBars(s)]]));
  const check = async () => exactlyOnce(await world.storedBars(), (s) => snapshot.get(s) ?? [], [...symbols]);
  await waitFor('every emitted bar stored', async () => (await check()).length === 0, { timeoutMs: 20_000 }).catch(
    () => {},
  );
  return check();
}

export interface GatewayProcess {
  child: ChildProcess;
  /** Everything the process wrote, stdout and stderr. */
  out(): string;
  /** The process's instance id, from its first log line that names one ('service started'). */
  instanceId(): string;
}

const gatewayMain = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** The gateway as its own process (`src/main.ts` under tsx), on `sim`'s key, for kill -9 and SIGSTOP. */
export function spawnGateway(opts: {
  natsUrl: string;
  sim: Sim;
  symbols: readonly string[];
  replicaId: string;
  env: Record<string, string>;
}): GatewayProcess {
  const { keyId, secret } = opts.sim.credentials;
  const child = spawn(process.execPath, ['--conditions=vigil-source', '--import', 'tsx', gatewayMain], {
    env: {
      PATH: process.env.PATH,
      HTTP_PORT: '0',
      ...opts.env,
      NATS_URL: opts.natsUrl,
      APCA_API_KEY_ID: keyId,
      APCA_API_SECRET_KEY: secret,
      ALPACA_STREAM_URL: opts.sim.wsUrl,
      ALPACA_DATA_URL: opts.sim.url,
      ALPACA_TRADING_URL: opts.sim.url,
      SYMBOLS: opts.symbols.join(','),
      REPLICA_ID: opts.replicaId,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out, instanceId: () => /"instanceId":"([^"]+)"/.exec(out)?.[1] ?? '' };
}
