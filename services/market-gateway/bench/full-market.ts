import { setTimeout as sleep } from 'node:timers/promises';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { Bar, decodeStored, streams, subjects } from '@vigil/contracts';
import { benchSetting, freePort, summarize, waitFor, type Summary } from '@vigil/service-kit/testing';
import { spawnGateway, world, type World } from '../test/harness.js';

/** The full-market run: what it is tuned by, printed with its figures. */
export const FULL_MARKET = {
  symbols: benchSetting('BENCH_MARKET_SYMBOLS', 10_000),
  /** Ten times real time: Alpaca's 200 requests a wall minute are then 200 per ten market minutes, ten times
   * scarcer than in a real session, so the budget is tested harder than it will be. */
  msPerMinute: 6000,
  steadyMinutes: benchSetting('BENCH_MARKET_MINUTES', 5),
  /** The 406 lock-out after the drop: about two market minutes without the stream. */
  zombieGraceMs: 12_000,
  env: {
    SYMBOLS: '*',
    STALE_AFTER_MS: '5000',
    PING_INTERVAL_MS: '2000',
    PONG_TIMEOUT_MS: '2000',
    BACKOFF_INITIAL_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LIMIT_RETRY_MS: '1000',
    POLL_AFTER_MS: '3000',
    POLL_INTERVAL_MS: '6000',
    CLOCK_REFRESH_MS: '2000',
    STABLE_AFTER_MS: '10000',
    BACKFILL_MAX_LOOKBACK_MS: '300000',
    AUDIT_WINDOW_MS: '600000',
    AUDIT_LAG_MS: '90000',
  } as Record<string, string>,
};

export interface FullMarketRun {
  symbols: number;
  /** Per steady minute: the sim closing it → the last of its bars on NATS. */
  minuteToStored: Summary;
  /** Per steady minute: the sim closing it → its first bar on NATS. */
  toFirst: Summary;
  /** Per steady minute: its first bar on NATS → its last. */
  spread: Summary;
  /** Minutes closed while the stream was down: the worst of their close → their last bar on NATS. */
  gapWorstMs: number | null;
  gapMinutes: number;
  /** The gateway's REST requests by priority, and the wall minutes they were spread over. */
  restRequests: Record<string, number>;
  restWindowMinutes: number;
  failedFetches: number;
  stored: number;
  lost: number;
  duplicates: number;
  startMs: number;
}

/**
 * The simulator with `FULL_MARKET.symbols` symbols, each with a bar every minute; the gateway as its own process
 * with SYMBOLS=*; real nats-server. Times each steady minute from the simulator's close to its last bar seen on
 * NATS, then drops the stream (unclean, so a 406 lock-out follows) and times the gap's minutes for every symbol
 * arriving by poll and backfill. At the end BARS is read back whole: every emitted bar stored exactly once.
 */
export async function runFullMarket(log: (line: string) => void = () => {}): Promise<FullMarketRun> {
  const symbols = [
    'SPY',
    ...Array.from({ length: FULL_MARKET.symbols - 1 }, (_, i) => `Z${i.toString(36).toUpperCase()}`),
  ];
  const w = await world({
    symbols,
    sparseSymbols: [],
    zombieGraceMs: FULL_MARKET.zombieGraceMs,
    clock: { start: '2026-01-06T10:30:00-05:00', msPerMinute: FULL_MARKET.msPerMinute },
  });
  const closedAt = new Map<number, number>();
  w.sim.market.on('minute', (minute) => closedAt.set(minute * 60_000, Date.now()));
  const seen = new Map<number, { first: number; last: number; symbols: Set<string> }>();
  w.nc.subscribe(subjects.bars1mAll, {
    callback: (_e, m) => {
      // Only the fields timed, without the contract check: 10,000 validations a minute would slow the observer,
      // not the gateway, and show as the gateway's latency. BARS is checked whole at the end.
      const bar = { value: m.json<Pick<Bar, 't' | 'symbol' | 'revision'>>() };
      if (bar.value.revision > 0) return;
      const t = Date.parse(bar.value.t);
      const now = Date.now();
      const entry = seen.get(t) ?? { first: now, last: now, symbols: new Set<string>() };
      entry.last = now;
      entry.symbols.add(bar.value.symbol);
      seen.set(t, entry);
    },
  });
  const complete = (t: number) => (seen.get(t)?.symbols.size ?? 0) >= symbols.length;

  const port = await freePort();
  const gateway = spawnGateway({
    natsUrl: w.server.url,
    sim: w.sim,
    symbols: ['*'],
    replicaId: 'full-market',
    env: { ...FULL_MARKET.env, HTTP_PORT: String(port) },
  });
  const startedAt = Date.now();
  try {
    log(`waiting for the gateway to stream ${symbols.length} symbols`);
    const firstFull = await waitFor(
      'a minute stored for every symbol',
      () => [...seen.keys()].find((t) => complete(t) && closedAt.has(t)),
      { timeoutMs: 120_000 },
    );
    const startMs = Date.now() - startedAt;
    const steady: number[] = [];
    const spread: number[] = [];
    const toFirst: number[] = [];
    for (let i = 1; i <= FULL_MARKET.steadyMinutes; i++) {
      const t = firstFull + i * 60_000;
      await waitFor(`minute ${i} stored for every symbol`, () => complete(t), { timeoutMs: 60_000 });
      await sleep(200); // let `last` settle on the final bar of the minute
      const entry = seen.get(t)!;
      steady.push(entry.last - closedAt.get(t)!);
      spread.push(entry.last - entry.first);
      toFirst.push(entry.first - closedAt.get(t)!);
      log(`minute ${i}: stored ${entry.last - closedAt.get(t)!} ms after its close`);
    }

    const lastBefore = Math.max(...[...seen.keys()].filter(complete));
    w.sim.faults.inject({ kind: 'drop' });
    log('stream dropped; a 406 lock-out follows');
    await waitFor('two market minutes down', () => w.sim.emittedBars('SPY').length >= countUpTo(w, lastBefore) + 2, {
      timeoutMs: 60_000,
    });
    const missed = [...closedAt.keys()].filter((t) => t > lastBefore);
    const gapFilled = await waitFor('the gap stored for every symbol', () => missed.every(complete) && Date.now(), {
      timeoutMs: 120_000,
    }).catch(() => null);
    await sleep(200);
    const gapLatency = gapFilled === null ? null : Math.max(...missed.map((t) => seen.get(t)!.last - closedAt.get(t)!));
    log(`gap of ${missed.length} minutes: each stored at most ${gapLatency ?? 'never'} ms after its close`);
    await sleep(2 * FULL_MARKET.msPerMinute);

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const restRequests = Object.fromEntries(
      [...metrics.matchAll(/^vigil_gateway_rest_requests_total\{priority="(\w+)"[^}]*\} (\d+)/gm)].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    );
    const failedFetches = [...metrics.matchAll(/^vigil_gateway_backfills_total\{outcome="failed"[^}]*\} (\d+)/gm)]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
    const restWindowMinutes = (Date.now() - startedAt) / 60_000;

    // Judged up to the newest minute stored whole; a minute still arriving when the gateway stops is not lost.
    const through = Math.max(...[...seen.keys()].filter(complete));
    gateway.child.kill('SIGTERM');
    await new Promise((r) => gateway.child.once('exit', r));
    const check = await readBack(w, symbols, through);
    return {
      symbols: symbols.length,
      minuteToStored: summarize(steady),
      spread: summarize(spread),
      toFirst: summarize(toFirst),
      gapWorstMs: gapLatency,
      gapMinutes: missed.length,
      restRequests,
      restWindowMinutes,
      failedFetches,
      ...check,
      startMs,
    };
  } finally {
    if (gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
    await w.close();
  }
}

/** How many minutes the simulator had emitted up to and including `t` (SPY has a bar every minute). */
function countUpTo(w: World, t: number): number {
  return w.sim.emittedBars('SPY').filter((x) => Date.parse(x) <= t).length;
}

/** Reads BARS back whole with an ordered consumer: each emitted bar stored once, revision 0. */
async function readBack(
  w: World,
  symbols: readonly string[],
  through: number,
): Promise<{ stored: number; lost: number; duplicates: number }> {
  const consumer = await jetstream(w.nc).consumers.get(streams.bars.name, { deliver_policy: DeliverPolicy.All });
  const info = await w.jsm.streams.info(streams.bars.name);
  const keys = new Set<string>();
  let duplicates = 0;
  let read = 0;
  const messages = await consumer.consume();
  for await (const m of messages) {
    read += 1;
    const bar = decodeStored(Bar, m);
    if (bar.revision === 0) {
      const key = `${bar.symbol} ${bar.t}`;
      if (keys.has(key)) duplicates += 1;
      keys.add(key);
    }
    if (read >= info.state.messages) break;
  }
  let lost = 0;
  for (const s of symbols)
    for (const t of w.sim.emittedBars(s))
      if (Date.parse(t) <= through && !keys.has(`${s} ${new Date(t).toISOString()}`)) lost += 1;
  return { stored: read, lost, duplicates };
}
