import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  Bar,
  bar1mSubject,
  barMsgId,
  consumers,
  decodeAs,
  encode,
  ensureStreams,
  Signal,
  StrategyHeartbeat,
  streams,
  subjects,
  type BarSource,
} from '@vigil/contracts';
import { Metrics } from '@vigil/service-kit';
import { captureLogger, startNats, waitFor, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStrategy, type StrategyService } from '../src/strategy-service.js';
import { bar, T0 } from './bars.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let brokerNow: number | null = null;

const config = {
  STRATEGY: 'ma_cross' as const,
  MAX_SIGNAL_AGE_MS: 90_000,
  ORDER_QTY: 3,
  MA_FAST: 2,
  MA_SLOW: 4,
  MOMENTUM_LOOKBACK: 10,
  MOMENTUM_THRESHOLD_BPS: 20,
  PUBLISH_TIMEOUT_MS: 2_000,
  SIGNAL_SOURCES: ['live', 'backfill', 'poll'] as BarSource[],
  HEARTBEAT_INTERVAL_MS: 50,
};

async function start(
  overrides: Partial<typeof config> = {},
): Promise<{ svc: StrategyService; lines: () => Record<string, unknown>[] }> {
  const { logger, lines } = captureLogger();
  const svc = await createStrategy({
    nc,
    config: { ...config, ...overrides },
    instanceId: 'strategy-test',
    version: '0.0.1-test',
    brokerNow: () => brokerNow,
    logger,
    metrics: new Metrics('strategy', { defaultMetrics: false }),
  });
  return { svc, lines };
}

async function publish(b: Bar, opts: { dedup?: boolean } = {}): Promise<void> {
  const js = jetstream(nc);
  await js.publish(
    bar1mSubject(b.symbol),
    encode(Bar, b),
    opts.dedup === false ? {} : { msgID: barMsgId(b.symbol, b.t, b.revision) },
  );
}

/** Wait until the consumer has acknowledged (or terminated) everything in the stream. */
async function drained(): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const info = await jsm.consumers.info(consumers.strategyBars.stream, consumers.strategyBars.durable_name);
    if (info.num_pending === 0 && info.num_ack_pending === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `consumer not drained: ${JSON.stringify({ pending: info.num_pending, ackPending: info.num_ack_pending })}`,
      );
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function signals(): Promise<Signal[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(streams.signals.name);
  const out: Signal[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(streams.signals.name, { seq });
    const d = decodeAs(Signal, m!.subject, m!.data);
    if (!d.ok) throw d.error;
    out.push(d.value);
  }
  return out;
}

const decisions = (lines: () => Record<string, unknown>[]) =>
  lines().filter((l) => l.msg === 'Evaluating trading decision');

beforeAll(async () => {
  server = await startNats({ own: true });
  nc = await connect({ servers: server.url });
  // The gateway owns BARS and creates it; the strategy waits for it.
  await ensureStreams(await jetstreamManager(nc), [streams.bars]);
});
afterAll(async () => {
  await nc?.close();
  await server?.cleanup();
});

describe('strategy service against a real nats-server', () => {
  // 60 backfilled bars: falling for 30 minutes, then rising (a crossing up inside the hour), then live bars.
  const hour = Array.from({ length: 60 }, (_, i) => bar(i, i < 30 ? 130 - i : 100 + (i - 30), { source: 'backfill' }));

  it('folds a replayed hour of backfilled bars into its indicators without firing a signal on the old ones', async () => {
    brokerNow = T0 + 61 * 60_000; // the broker's clock is just past the hour
    const { svc, lines } = await start();
    for (const b of hour) await publish(b);
    await drained();
    await svc.stop();
    expect(await signals()).toEqual([]);
    const d = decisions(lines);
    expect(d).toHaveLength(60);
    // The crossing happened during the backfill, was logged, and was not sent.
    expect(d.filter((l) => l.decision === 'suppressed')).toHaveLength(1);
    expect(d.find((l) => l.decision === 'suppressed')).toMatchObject({
      fresh: false,
      reason: expect.stringMatching(/over 90000 ms/),
    });
  });

  it('fires exactly one signal on a fresh live crossing, even when the bar comes again', async () => {
    const { svc, lines } = await start();
    const live = bar(60, 50); // a sharp drop: the fast average falls below the slow one
    brokerNow = Date.parse(live.t) + 60_000 + 1_500;
    await publish(live);
    await publish(live, { dedup: false }); // a second copy in the stream, as after a gateway replay
    await drained();
    await svc.stop();
    const sent = await signals();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      id: 'ma_cross:SPY:20261127T1530Z',
      side: 'sell',
      qty: 3,
      price: 50,
      barT: live.t,
      strategy: 'ma_cross',
    });
    expect(decisions(lines)).toHaveLength(1);
    expect(decisions(lines)[0]).toMatchObject({
      decision: 'sell',
      fresh: true,
      ageMs: 1_500,
      inputs: expect.objectContaining({ close: 50 }),
    });
  });

  it('resumes after a restart from the stored state, reprocessing nothing', async () => {
    const { svc, lines } = await start();
    // Nothing new was published, so nothing is evaluated again.
    await drained();
    expect(decisions(lines)).toHaveLength(0);
    // The next bars cross back up only because the window (…, 129, 50) survived the restart.
    const next = [bar(61, 60), bar(62, 120)];
    brokerNow = Date.parse(next[1]!.t) + 60_000 + 500;
    for (const b of next) await publish(b);
    await publish(bar(59, 89, { source: 'backfill' }), { dedup: false }); // an old bar arriving late
    await drained();
    await svc.stop();
    const d = decisions(lines);
    expect(d.map((l) => l.barT)).toEqual([next[0]!.t, next[1]!.t]);
    expect(d[0]).toMatchObject({ decision: 'none' });
    const sent = await signals();
    expect(sent.map((s) => s.side)).toEqual(['sell', 'buy']);
    expect(sent[1]!.inputs).toMatchObject({ slowMa: (129 + 50 + 60 + 120) / 4 });
  });

  it('terminates and logs a malformed bar, and carries on with the next one', async () => {
    const { svc, lines } = await start();
    const js = jetstream(nc);
    await js.publish(bar1mSubject('SPY'), 'not json');
    await js.publish(bar1mSubject('SPY'), JSON.stringify({ ...bar(63, 121), high: 1 }));
    brokerNow = T0 + 65 * 60_000;
    await publish(bar(64, 122));
    await drained();
    await svc.stop();
    const bad = lines().filter((l) => l.msg === 'malformed bar; dropping it (terminated, never redelivered)');
    expect(bad).toHaveLength(2);
    expect(String((bad[1]!.err as { message: string }).message)).toMatch(/high/);
    expect(decisions(lines).map((l) => l.barT)).toEqual([bar(64, 122).t]);
    const info = await (await jetstreamManager(nc)).consumers.info(
      consumers.strategyBars.stream,
      consumers.strategyBars.durable_name,
    );
    expect(info.num_redelivered).toBe(0);
  });

  it('trades a fresh polled bar like a live one, names its source, and reports the decision in its heartbeat', async () => {
    const beats = heartbeats();
    const { svc } = await start();
    const polled = bar(65, 20, { source: 'poll' }); // a sharp drop: the fast average falls below the slow one
    brokerNow = Date.parse(polled.t) + 60_000 + 2_000;
    await publish(polled);
    await drained();
    const hb = await beats.until((b) => b.lastDecisions.SPY?.barT === polled.t);
    const health = svc.health();
    await svc.stop();
    beats.stop();
    const sent = (await signals()).at(-1);
    expect(sent).toMatchObject({ barT: polled.t, barSource: 'poll', side: 'sell' });
    expect(health).toMatchObject({ status: 'ok', figures: { symbolsDecided: 1 }, notes: [] });
    expect(health.figures.signalsPublished).toBeGreaterThanOrEqual(1);
    expect(health.figures.lastDecisionAgeMs).toBeTypeOf('number');
    expect(hb).toMatchObject({
      instanceId: 'strategy-test',
      strategy: 'ma_cross',
      signalSources: ['live', 'backfill', 'poll'],
    });
    expect(hb.lastDecisions.SPY).toMatchObject({ barSource: 'poll', outcome: 'sell' });
  });

  it('with SIGNAL_SOURCES=live folds a fresh polled bar in without deciding, and its heartbeat says so', async () => {
    const beats = heartbeats();
    const { svc, lines } = await start({ SIGNAL_SOURCES: ['live'] });
    const before = (await signals()).length;
    const polled = bar(66, 400, { source: 'poll' }); // a sharp rise: the fast average crosses above the slow one
    brokerNow = Date.parse(polled.t) + 60_000 + 2_000;
    await publish(polled);
    await drained();
    const seq = (await beats.until(() => true)).seq;
    const hb = await beats.until((b) => b.seq >= seq + 2);
    await svc.stop();
    beats.stop();
    expect((await signals()).length).toBe(before);
    expect(decisions(lines)[0]).toMatchObject({
      decision: 'suppressed',
      reason: expect.stringMatching(/SIGNAL_SOURCES/),
    });
    expect(hb.lastDecisions).toEqual({});
    expect(hb.signalSources).toEqual(['live']);
  });
});

/** Strategy heartbeats as they arrive; `until` resolves with the first (new or already seen) that matches. */
function heartbeats() {
  const seen: StrategyHeartbeat[] = [];
  const sub = nc.subscribe(subjects.strategyHeartbeat, {
    callback: (_e, m) => {
      const d = decodeAs(StrategyHeartbeat, m.subject, m.data);
      if (d.ok) seen.push(d.value);
    },
  });
  return {
    until: (match: (b: StrategyHeartbeat) => boolean): Promise<StrategyHeartbeat> =>
      waitFor('a matching strategy heartbeat', () => seen.find(match), { timeoutMs: 10_000 }),
    stop: () => sub.unsubscribe(),
  };
}
