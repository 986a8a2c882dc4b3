import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Alpaca } from '@alpacahq/alpaca-trade-api';
import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import { ensureStreams, streams } from '@vigil/contracts';
import { Metrics } from '@vigil/service-kit';
import { captureLogger, startNats, summarize, waitFor, type Summary } from '@vigil/service-kit/testing';
import { WebSocketServer, type WebSocket } from 'ws';
import { toBar } from '../src/bars.js';
import { liveBarHandler } from '../src/live-bars.js';
import { publishFloor, type PublishFn } from './floor.js';
import { BarPublisher } from '../src/publisher.js';
import { StreamPublisher } from '../src/stream-publish.js';
import { FeedSupervisor } from '../src/supervisor.js';
import { SymbolUniverse } from '../src/universe.js';
import { BURST } from './settings.js';

export interface BurstResult {
  bars: number;
  frames: number;
  reps: number;
  /** Gateway: first frame sent → every bar acknowledged by JetStream (ms). */
  gatewayAckedMs: Summary;
  /** Gateway: first frame sent → every bar parsed and offered to the publisher (ms). */
  gatewayParsedMs: Summary;
  /** SDK: first frame sent → its onBar handler has seen every bar (ms). */
  sdkDecodedMs: Summary;
  /** The floor: nats.js alone (defaults) storing as many pre-encoded bars with dedup ids, 256 in flight (ms). */
  floorMs: Summary;
  /** The fastest floor rep: the floor the gateway is held to. */
  floorBestMs: number;
  /** The same with `noAsyncTraces`, as the gateway connects (ms). */
  floorNoTracesMs: Summary;
  /** The gateway's own publish path (`StreamPublisher`) alone, as many pre-encoded bars (ms). */
  ownPathMs: Summary;
  /** Messages in the BARS stream afterwards (should be bars × reps × 4: the gateway, both floors, its own path). */
  storedInStream: number;
}

interface WireBar {
  T: 'b';
  S: string;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
  n: number;
  vw: number;
  t: string;
}

/** Valid tickers (`A0000`…), one per bar: a whole-market minute. */
const symbolsFor = (n: number) =>
  Array.from({ length: n }, (_, i) => `A${i.toString(36).toUpperCase().padStart(4, '0')}`);

function minuteOfBars(symbols: string[], minute: number): WireBar[] {
  const t = new Date(Date.UTC(2026, 0, 6, 15, 0) + minute * 60_000).toISOString();
  return symbols.map((S, i) => ({
    T: 'b',
    S,
    o: 100 + i / 100,
    h: 101 + i / 100,
    l: 99 + i / 100,
    c: 100.5 + i / 100,
    v: 1000 + i,
    n: 10 + (i % 7),
    vw: 100.2 + i / 100,
    t,
  }));
}

/**
 * A loopback stand-in for Alpaca's stream that speaks just enough protocol (greeting, auth, subscription
 * ack) for both clients, then sends whatever frames the bench hands it. JSON to the gateway, msgpack
 * (with `t` as the timestamp extension, as Alpaca sends it) to the SDK, which asks for msgpack.
 */
async function burstServer() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  const clients = { json: null as WebSocket | null, msgpack: null as WebSocket | null };
  // Node 20 has no Promise.withResolvers.
  const resolvers = { json: () => {}, msgpack: () => {} };
  const subscribed = {
    json: new Promise<void>((r) => (resolvers.json = r)),
    msgpack: new Promise<void>((r) => (resolvers.msgpack = r)),
  };
  wss.on('connection', (ws, req) => {
    const kind = /msgpack/i.test(req.headers['content-type'] ?? '') ? 'msgpack' : 'json';
    const send = (frames: unknown[]) => ws.send(kind === 'json' ? JSON.stringify(frames) : msgpackEncode(frames));
    send([{ T: 'success', msg: 'connected' }]);
    ws.on('message', (data, isBinary) => {
      const msg = (
        isBinary ? (msgpackDecode(data as Buffer) as Record<string, unknown>) : JSON.parse(data.toString())
      ) as Record<string, unknown>;
      if (msg.action === 'auth') return send([{ T: 'success', msg: 'authenticated' }]);
      if (msg.action === 'subscribe') {
        const list = (k: string) => (Array.isArray(msg[k]) ? msg[k] : []);
        send([
          {
            T: 'subscription',
            trades: list('trades'),
            quotes: [],
            bars: list('bars'),
            updatedBars: list('updatedBars'),
            dailyBars: [],
            statuses: [],
            lulds: [],
            corrections: list('trades'),
            cancelErrors: list('trades'),
          },
        ]);
        clients[kind] = ws;
        resolvers[kind]();
      }
    });
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    subscribed,
    /** Encode first, then send: the clock starts at the first byte out, as it would for bars off the wire. */
    prepare(kind: 'json' | 'msgpack', bars: WireBar[], perFrame: number): () => void {
      const chunks: unknown[][] = [];
      for (let i = 0; i < bars.length; i += perFrame)
        chunks.push(bars.slice(i, i + perFrame).map((b) => (kind === 'msgpack' ? { ...b, t: new Date(b.t) } : b)));
      const payloads = chunks.map((c) => (kind === 'json' ? JSON.stringify(c) : msgpackEncode(c)));
      return () => {
        const ws = clients[kind];
        if (!ws) throw new Error(`no ${kind} client subscribed`);
        for (const p of payloads) ws.send(p);
      };
    },
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

/**
 * The 10,000-symbol minute through the gateway's own feed path (FeedSupervisor parsing real WebSocket
 * frames → liveBarHandler → BarPublisher → JetStream with its acks), and through the SDK's StockDataStream up to
 * its onBar callback, next to the floor: nats.js alone storing as many bars. They run one after the other so none
 * steals another's CPU.
 */
export async function runBurst(opts: { bars?: number; perFrame?: number; reps?: number } = {}): Promise<BurstResult> {
  const count = opts.bars ?? BURST.bars;
  const perFrame = opts.perFrame ?? BURST.perFrame;
  const reps = opts.reps ?? BURST.reps;
  const symbols = symbolsFor(count);
  const server = await startNats({ own: true });
  // As the gateway connects (service-kit's connectNats); the floors get their own connections.
  const nc = await connect({ servers: server.url, noAsyncTraces: true });
  const floorNc = await connect({ servers: server.url });
  const floorNoTracesNc = await connect({ servers: server.url, noAsyncTraces: true });
  const ownPathNc = await connect({ servers: server.url, noAsyncTraces: true });
  const ownPath = new StreamPublisher({ nc: ownPathNc, timeoutMs: 2000 });
  const viaNatsJs = (nc: NatsConnection): PublishFn => {
    const js = jetstream(nc);
    return (subject, data, msgID) => js.publish(subject, data, { msgID });
  };
  const srv = await burstServer();
  const { logger } = captureLogger({ level: 'warn' });
  const metrics = new Metrics('market-gateway', { defaultMetrics: false });
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, [streams.bars]);
  const stream = new StreamPublisher({ nc, timeoutMs: 2000 });
  const publisher = new BarPublisher({
    stream,
    logger,
    metrics,
    retry: { initialMs: 50, maxMs: 500 },
    maxBuffered: 10 * count,
  });
  let offered = 0;
  // The gateway's own live-bar path; each rep is the minute after the last, so no gap opens and nothing is bad.
  // A symbol's first bar asks for a gap check in the gateway (what came before it?); the bench has no REST to ask.
  const handleBar = liveBarHandler({
    universe: new SymbolUniverse(symbols),
    feed: 'iex',
    brokerNow: Date.now,
    publisher,
    gaps: {
      checkGap: (symbol, liveT) => {
        if (!publisher.lastPublished().has(symbol)) return;
        throw new Error(
          `burst: ${symbol}'s bar at ${new Date(liveT).toISOString()} skipped minutes; they must follow each other`,
        );
      },
    },
    rejectBar: (symbol, _source, _wire, error) => {
      throw new Error(`burst: ${symbol}'s bar was refused: ${error}`);
    },
  });
  const supervisor = new FeedSupervisor({
    settings: {
      streamUrl: `${srv.url}/v2/iex`,
      keyId: 'BURSTKEY',
      secret: 'BURSTSECRET',
      symbols,
      canarySymbol: symbols[0]!,
      handshakeTimeoutMs: 5000,
      pingIntervalMs: 1000,
      pongTimeoutMs: 1000,
      authTimeoutMs: 5000,
      subscribeTimeoutMs: 5000,
      // Market "closed" for the supervisor: the burst server sends nothing between reps, and that silence is not a fault here.
      staleAfterMs: 60_000,
      stableAfterMs: 60_000,
      policy: { initialMs: 100, maxMs: 1000, limitRetryMs: 500, authRetryMs: 5000, configRetryMs: 5000 },
    },
    marketPhase: () => 'closed',
    logger,
    metrics,
    onBar: (wire) => {
      handleBar(wire);
      offered += 1;
    },
    onSubscribed: () => {},
  });
  const sdk = new Alpaca({ keyId: 'BURSTSDK', secret: 'BURSTSDKSECRET' }).marketData.stockStream({
    feed: 'iex',
    url: `${srv.url}/v2/iex`,
  });
  let decoded = 0;
  sdk.onBar(() => {
    decoded += 1;
  });
  const acked: number[] = [];
  const parsed: number[] = [];
  const sdkMs: number[] = [];
  const floor: number[] = [];
  const floorNoTraces: number[] = [];
  const ownPathRuns: number[] = [];
  try {
    supervisor.start();
    sdk.subscribeForBars(symbols);
    sdk.connect();
    await Promise.all([srv.subscribed.json, srv.subscribed.msgpack]);
    for (let rep = 0; rep < reps; rep++) {
      // Each rep's floors store minutes of their own (later than every gateway minute), so nothing is a duplicate.
      const received = new Date();
      const floorBars = (minute: number) =>
        minuteOfBars(symbols, minute).map((w) => toBar(w, w.S, 'live', 'iex', received));
      floor.push(await publishFloor(viaNatsJs(floorNc), floorBars(1000 + rep)));
      await sleep(200);
      floorNoTraces.push(await publishFloor(viaNatsJs(floorNoTracesNc), floorBars(2000 + rep)));
      await sleep(200);
      ownPathRuns.push(await publishFloor((s, d, id) => ownPath.publish(s, d, id), floorBars(3000 + rep)));
      await sleep(200);

      const bars = minuteOfBars(symbols, rep);

      const toGateway = srv.prepare('json', bars, perFrame);
      offered = 0;
      const g0 = performance.now();
      toGateway();
      await waitFor('burst: the gateway to parse every bar', () => offered >= count, {
        timeoutMs: 30_000,
        intervalMs: 1,
      });
      parsed.push(performance.now() - g0);
      await publisher.idle();
      acked.push(performance.now() - g0);

      await sleep(200);
      const toSdk = srv.prepare('msgpack', bars, perFrame);
      decoded = 0;
      const s0 = performance.now();
      toSdk();
      await waitFor('burst: the SDK to decode every bar', () => decoded >= count, { timeoutMs: 30_000, intervalMs: 1 });
      sdkMs.push(performance.now() - s0);
      await sleep(200);
    }
    const info = await jsm.streams.info(streams.bars.name);
    return {
      bars: count,
      frames: Math.ceil(count / perFrame),
      reps,
      gatewayAckedMs: summarize(acked),
      gatewayParsedMs: summarize(parsed),
      sdkDecodedMs: summarize(sdkMs),
      floorMs: summarize(floor),
      floorBestMs: Math.min(...floor),
      floorNoTracesMs: summarize(floorNoTraces),
      ownPathMs: summarize(ownPathRuns),
      storedInStream: info.state.messages,
    };
  } finally {
    sdk.disconnect();
    supervisor.stop();
    publisher.stop();
    stream.close();
    ownPath.close();
    await srv.close();
    await Promise.all([nc.close(), floorNc.close(), floorNoTracesNc.close(), ownPathNc.close()]);
    await server.cleanup();
  }
}
