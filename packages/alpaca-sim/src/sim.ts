import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '@vigil/service-kit';
import type { MarketModel } from './bars.js';
import { isOpenAt, toNyIso } from './calendar.js';
import { Broker } from './broker.js';
import { dueEntries, entryFault, type ChaosEntry } from './chaos.js';
import { SimClock } from './clock.js';
import { handleControl } from './control-api.js';
import { FaultBook } from './faults.js';
import { header, RateLimiter, sendError } from './http-util.js';
import { KeySlots } from './key-slots.js';
import { MarketFeed } from './market.js';
import { priceAt } from './prices.js';
import { handleBars } from './rest-data.js';
import { handleTrading } from './rest-trading.js';
import type { Session } from './session.js';
import { StreamServer } from './stream-server.js';

export interface SimOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  symbols?: string[];
  /** Symbols with thin trading: minutes without a bar. */
  sparseSymbols?: string[];
  seed?: number;
  /**
   * `reportResolutionMs`: the clock endpoints report now floored to this (60000: only the start of the current
   * minute, as one Alpaca stand-in does), so a client's estimate of the broker's time lags by up to that much.
   * Default 1: the instant.
   */
  clock?: { start?: Date | string | number; msPerMinute?: number; reportResolutionMs?: number };
  /** Accepted key → secret pairs; default one pair, `SIMKEY` / `SIMSECRET`. */
  keys?: Record<string, string>;
  /** How long a session that vanished without a close frame holds its key (406 meanwhile). Default 90000. */
  zombieGraceMs?: number;
  /** Window for the first auth message before `404 auth timeout`. Default 10000. */
  authTimeoutMs?: number;
  /** Server → client WebSocket ping period; 0 disables pings and reaping. Default 10000. */
  serverPingIntervalMs?: number;
  /** Share of bars later corrected by an `updatedBars` message. Default 0.05. */
  updatedBarRate?: number;
  /** REST requests per minute per key and API before 429. Default 200. */
  restRateLimit?: number;
  startingCash?: number;
  /** A margin account: a sell beyond the long position opens a short. Default false (sells beyond it get 403). */
  margin?: boolean;
  chaos?: ChaosEntry[];
  logger?: Logger;
}

export const DEFAULT_KEYS = { SIMKEY: 'SIMSECRET' };
export const DEFAULT_SYMBOLS = ['SPY', 'AAPL', 'MSFT', 'QQQ'];

/** A running simulator: one loopback HTTP server for the streams, REST and the `/sim` control API. */
export class Sim {
  readonly url: string;
  readonly wsUrl: string;
  readonly faults: FaultBook;
  readonly broker: Broker;
  readonly market: MarketFeed;
  readonly stream: StreamServer;
  readonly keys: Record<string, string>;
  readonly symbols: readonly string[];
  private readonly limiter: RateLimiter;
  private startMs: number;
  private readonly clockResolutionMs: number;
  private chaos: { schedule: ChaosEntry[]; fired: Set<number> } | undefined;

  constructor(
    private readonly server: Server,
    readonly clock: SimClock,
    readonly model: MarketModel,
    readonly log: Logger,
    opts: SimOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    const host = opts.host ?? '127.0.0.1';
    this.url = `http://${host}:${port}`;
    this.wsUrl = `ws://${host}:${port}`;
    this.keys = opts.keys ?? DEFAULT_KEYS;
    this.symbols = opts.symbols ?? DEFAULT_SYMBOLS;
    this.startMs = clock.now();
    this.clockResolutionMs = Math.max(1, opts.clock?.reportResolutionMs ?? 1);
    this.faults = new FaultBook(() => clock.msPerMinute);
    this.faults.on('injected', (f) => log.warn({ fault: f }, `fault injected: ${f.kind}`));
    this.faults.on('expired', (f) => log.info({ fault: f.kind, id: f.id }, `fault ended: ${f.kind}`));
    this.limiter = new RateLimiter(opts.restRateLimit ?? 200);
    this.market = new MarketFeed(model, this.symbols, clock, log, (channel) =>
      [...this.stream.sessions].some((s) => s.subscriptions[channel].length > 0),
    );
    this.broker = new Broker({
      now: () => clock.now(),
      isOpen: isOpenAt,
      price: (s, ms) => this.market.lastPrice(s, ms) ?? priceAt(model.seed, s, ms),
      startingCash: opts.startingCash ?? 100_000,
      margin: opts.margin ?? false,
    });
    this.stream = new StreamServer(
      {
        faults: this.faults,
        slots: new KeySlots<Session>(opts.zombieGraceMs ?? 90_000),
        credentials: new Map(Object.entries(this.keys)),
        clock,
        model,
        authTimeoutMs: opts.authTimeoutMs ?? 10_000,
        log,
      },
      { serverPingIntervalMs: opts.serverPingIntervalMs ?? 10_000, zombieGraceMs: opts.zombieGraceMs ?? 90_000 },
    );
    this.faults.setInstantHandler((spec) => this.stream.applyInstant(spec));
    this.market.on('tick', (tick) => {
      this.stream.deliver(tick);
      this.broker.tick();
    });
    this.market.on('minute', () => this.fireChaos());
    if (opts.chaos) this.runChaos(opts.chaos);
    server.on('upgrade', (req, socket, head) => this.stream.handleUpgrade(req, socket, head));
    server.on('request', (req, res) => void this.route(req, res));
    this.market.start();
  }

  /** Start a chaos schedule; `atMinute` counts simulated minutes from now. */
  runChaos(schedule: ChaosEntry[]): void {
    this.chaos = { schedule, fired: new Set() };
    this.startMs = this.clock.now();
    this.fireChaos();
  }

  /** The first accepted key pair, for building clients. */
  get credentials(): { keyId: string; secret: string } {
    const [keyId, secret] = Object.entries(this.keys)[0]!;
    return { keyId, secret };
  }

  /** Bar start times the market has published per symbol (before any per-connection fault). */
  emittedBars(symbol: string): readonly string[] {
    return this.market.emittedBars.get(symbol) ?? [];
  }

  clockStatus(): Record<string, unknown> {
    const now = this.clock.now();
    return { ...this.clock.state(), nowNy: toNyIso(now, true), isOpen: isOpenAt(now) };
  }

  status(): Record<string, unknown> {
    return {
      url: this.url,
      wsUrl: this.wsUrl,
      clock: this.clockStatus(),
      connections: [...this.stream.sessions].map((s) => ({
        id: s.id,
        feed: s.feed,
        encoding: s.encoding,
        authenticated: s.authenticated,
        key: s.key ?? null,
        subscriptions: s.subscriptions,
        barsSent: Object.fromEntries(s.barsSent),
      })),
      zombies: this.stream.zombies(),
      barsEmitted: Object.fromEntries([...this.market.emittedBars].map(([s, list]) => [s, list.length])),
      faults: { active: this.faults.list(), injected: this.faults.injected, applied: this.faults.applied },
      stream: this.stream.stats,
      broker: {
        cash: this.broker.cash,
        margin: this.broker.margin,
        orders: this.broker.orders.length,
        positions: [...this.broker.positions.keys()],
      },
    };
  }

  async close(): Promise<void> {
    this.market.stop();
    this.stream.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private fireChaos(): void {
    if (!this.chaos) return;
    const elapsed = Math.floor((this.clock.now() - this.startMs) / 60_000);
    for (const i of dueEntries(this.chaos.schedule, elapsed, this.chaos.fired)) {
      this.chaos.fired.add(i);
      const parsed = entryFault(this.chaos.schedule[i]!);
      if (parsed.success) this.faults.inject(parsed.data);
      else this.log.error({ entry: this.chaos.schedule[i] }, 'chaos entry is not a valid fault: skipped');
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    res.on('finish', () => {
      if (res.statusCode >= 400)
        this.log.warn({ method: req.method, path: url.pathname, status: res.statusCode }, 'request refused');
    });
    try {
      if (url.pathname === '/sim' || url.pathname.startsWith('/sim/')) return await handleControl(this, req, res, url);
      const bars = /^\/v2\/stocks\/(?:bars|([^/]+)\/bars)$/.exec(url.pathname);
      const api = bars ? 'data' : 'trading';
      const key = header(req, 'apca-api-key-id');
      if (!key || this.keys[key] !== header(req, 'apca-api-secret-key'))
        return sendError(res, 401, 'request is not authorized');
      const limit = this.limiter.take(`${api}:${key}`);
      const rateHeaders = {
        'X-RateLimit-Limit': String(this.limiter.perMinute),
        'X-RateLimit-Remaining': String(limit.remaining),
        'X-RateLimit-Reset': String(limit.resetSec),
      };
      if (limit.retryAfterSec)
        return sendError(res, 429, 'rate limit exceeded', {
          ...rateHeaders,
          'Retry-After': String(limit.retryAfterSec),
        });
      for (const [k, v] of Object.entries(rateHeaders)) res.setHeader(k, v);
      if (await this.restFaults(api, `${req.method} ${url.pathname}`, res)) return;
      if (bars) {
        if (req.method !== 'GET') return sendError(res, 405, 'method not allowed');
        const lag = this.faults.find('rest_lag');
        if (lag) this.faults.use(lag);
        return handleBars(
          {
            model: this.model,
            now: () => this.clock.now(),
            ...(lag && { lag: { ms: lag.lagMs, ...(lag.symbols && { symbols: lag.symbols }) } }),
          },
          url,
          res,
          bars[1] && decodeURIComponent(bars[1]),
        );
      }
      const handled = await handleTrading(
        {
          broker: this.broker,
          now: () => this.clock.now(),
          clockNow: () => Math.floor(this.clock.now() / this.clockResolutionMs) * this.clockResolutionMs,
          accountId: 'a1b2c3d4-0000-4000-8000-000000000001',
          symbols: this.symbols,
        },
        req,
        res,
        url,
      );
      if (!handled) sendError(res, 404, 'endpoint not found');
    } catch (err) {
      this.log.error({ err }, 'request failed');
      sendError(
        res,
        (err as Error).name === 'RequestTooLarge' ? 413 : 500,
        (err as Error).name === 'RequestTooLarge' ? 'request body too large' : 'internal server error',
      );
    }
  }

  /** rest_slow delays, rest_error answers instead of the endpoint; true when the request was answered. */
  private async restFaults(api: 'data' | 'trading', request: string, res: ServerResponse): Promise<boolean> {
    const slow = this.faults.find('rest_slow', undefined, api, request);
    if (slow) {
      this.faults.use(slow);
      await new Promise((r) => setTimeout(r, slow.delayMs));
    }
    const error = this.faults.find('rest_error', undefined, api, request);
    if (!error) return false;
    this.faults.use(error);
    const headers: Record<string, string> =
      error.status === 429 || error.status === 503 ? { 'Retry-After': String(error.retryAfterSec) } : {};
    sendError(res, error.status, error.status === 429 ? 'rate limit exceeded' : 'internal server error', headers);
    return true;
  }
}

/** Start a simulator on `host:port` (127.0.0.1, random port by default). */
export async function startSim(opts: SimOptions = {}): Promise<Sim> {
  const start = opts.clock?.start;
  const clock = new SimClock({
    ...(start !== undefined ? { startMs: new Date(start).getTime() } : {}),
    ...(opts.clock?.msPerMinute !== undefined ? { msPerMinute: opts.clock.msPerMinute } : {}),
  });
  const model: MarketModel = {
    seed: opts.seed ?? 1,
    sparse: new Set(opts.sparseSymbols ?? []),
    updatedBarRate: opts.updatedBarRate ?? 0.05,
    forcedCorrections: new Set(),
  };
  const log = opts.logger ?? createLogger({ name: 'alpaca-sim', level: 'silent' });
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  return new Sim(server, clock, model, log, opts);
}
