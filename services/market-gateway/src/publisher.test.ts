import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Bar, decodeStored, ensureStreams, streams } from '@vigil/contracts';
import { Metrics } from '@vigil/service-kit';
import { captureLogger, startNats, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testBar as bar } from '../test/bars.js';
import { BarPublisher } from './publisher.js';
import { StreamPublisher } from './stream-publish.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startNats({ own: true });
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc?.close();
  await server?.cleanup();
});
beforeEach(async () => {
  await jsm.streams.delete(streams.bars.name).catch(() => {});
  await ensureStreams(jsm, [streams.bars]);
});

function publisher(opts: { maxBuffered?: number; onOverflowCleared?: () => void; publishTimeoutMs?: number } = {}) {
  return new BarPublisher({
    stream: new StreamPublisher({ nc, timeoutMs: opts.publishTimeoutMs ?? 2000 }),
    logger: captureLogger().logger,
    metrics: new Metrics('gw', { defaultMetrics: false }),
    retry: { initialMs: 50, maxMs: 200 },
    maxBuffered: opts.maxBuffered ?? 1000,
    ...(opts.onOverflowCleared ? { onOverflowCleared: opts.onOverflowCleared } : {}),
  });
}

async function stored(): Promise<{ subject: string; msgId: string | undefined; bar: Bar }[]> {
  const info = await jsm.streams.info(streams.bars.name);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(streams.bars.name, { seq });
    if (m) out.push({ subject: m.subject, msgId: m.header?.get('Nats-Msg-Id'), bar: decodeStored(Bar, m) });
  }
  return out;
}

describe('BarPublisher against a real JetStream', () => {
  it('stores each bar once with its dedup id, and skips what is already out', async () => {
    const p = publisher();
    expect(p.offer(bar('SPY', '15:31'))).toBe('queued');
    expect(p.offer(bar('SPY', '15:31'))).toBe('skipped');
    expect(p.offer(bar('BRK.B', '15:31'))).toBe('queued');
    await p.idle();
    const rows = await stored();
    expect(rows.map((r) => [r.subject, r.msgId])).toEqual([
      ['md.bars.1m.SPY', 'SPY:2026-11-27T15:31:00.000Z'],
      ['md.bars.1m.BRK_B', 'BRK.B:2026-11-27T15:31:00.000Z'],
    ]);
  });

  it('after a restart resumes from the stream, and the stream drops a republish that slips through', async () => {
    const first = publisher();
    first.offer(bar('SPY', '15:31'));
    first.offer(bar('SPY', '15:32'));
    await first.idle();

    const restarted = publisher();
    await restarted.loadLastPublished(jsm, ['SPY', 'AAPL']);
    expect(restarted.lastPublished().get('SPY')).toBe(Date.parse('2026-11-27T15:32:00Z'));
    expect(restarted.offer(bar('SPY', '15:32', 'backfill'))).toBe('skipped');

    const forgetful = publisher();
    forgetful.offer(bar('SPY', '15:31', 'backfill'));
    await forgetful.idle();
    expect((await stored()).map((r) => r.bar.t)).toEqual(['2026-11-27T15:31:00.000Z', '2026-11-27T15:32:00.000Z']);
  });

  it("publishes a held symbol's backfill before its live bars, in time order", async () => {
    const p = publisher();
    p.hold('SPY');
    expect(p.offer(bar('SPY', '15:33', 'live'))).toBe('held');
    p.offer(bar('AAPL', '15:33', 'live'));
    p.offer(bar('SPY', '15:31', 'backfill'));
    p.offer(bar('SPY', '15:32', 'backfill'));
    // The backfill also brings the bar that is waiting live: the live copy goes out, once.
    expect(p.offer(bar('SPY', '15:33', 'backfill'))).toBe('skipped');
    p.release('SPY');
    await p.idle();
    const spy = (await stored()).filter((r) => r.bar.symbol === 'SPY');
    expect(spy.map((r) => `${r.bar.t.slice(11, 16)} ${r.bar.source}`)).toEqual([
      '15:31 backfill',
      '15:32 backfill',
      '15:33 live',
    ]);
  });

  it('loses no held live bar when a slow backfill brings newer minutes than the ones waiting', async () => {
    // What the incident replay caught: REST answered slowly, so live 15:31 and 15:32 arrived (held) during the
    // fetch, and the backfill brought them and 15:33 too. The live copies must go out, before 15:33.
    const p = publisher();
    p.hold('SPY');
    p.offer(bar('SPY', '15:32', 'live'));
    p.offer(bar('SPY', '15:31', 'live'));
    expect(p.offer(bar('SPY', '15:30', 'backfill'))).toBe('queued');
    expect(p.offer(bar('SPY', '15:31', 'backfill'))).toBe('skipped');
    expect(p.offer(bar('SPY', '15:32', 'backfill'))).toBe('skipped');
    expect(p.offer(bar('SPY', '15:33', 'backfill'))).toBe('queued');
    p.offer(bar('SPY', '15:34', 'live'));
    p.release('SPY');
    await p.idle();
    const spy = (await stored()).map((r) => `${r.bar.t.slice(11, 16)} ${r.bar.source}`);
    expect(spy).toEqual(['15:30 backfill', '15:31 live', '15:32 live', '15:33 backfill', '15:34 live']);
  });

  it('keeps a correction of a bar still held: the corrected values are stored, once', async () => {
    const p = publisher();
    p.hold('SPY');
    p.offer(bar('SPY', '15:33', 'live', 100));
    expect(p.offerCorrection(bar('SPY', '15:33', 'live', 101))).toBe('held');
    p.release('SPY');
    await p.idle();
    expect((await stored()).map((r) => [r.bar.t.slice(11, 16), r.bar.close, r.bar.revision])).toEqual([
      ['15:33', 101, 0],
    ]);
  });

  it('releases bars that arrived out of order while held in time order', async () => {
    const p = publisher();
    p.hold('SPY');
    p.offer(bar('SPY', '15:33'));
    p.offer(bar('SPY', '15:31'));
    p.offer(bar('SPY', '15:32'));
    // Held bars are not published, but they are seen: the next live bar after 15:33 opens no gap.
    expect(p.lastPublished().get('SPY')).toBeUndefined();
    expect(p.newestSeen('SPY')).toBe(Date.parse('2026-11-27T15:33:00Z'));
    p.release('SPY');
    await p.idle();
    expect((await stored()).map((r) => r.bar.t.slice(11, 16))).toEqual(['15:31', '15:32', '15:33']);
  });

  it('refuses bars when its buffer is full, keeps refusing until it drains, then asks for a backfill of exactly those', async () => {
    let cleared = 0;
    const p = publisher({ maxBuffered: 2, onOverflowCleared: () => cleared++ });
    await server.stop();
    expect(p.offer(bar('SPY', '15:31'))).toBe('queued');
    expect(p.offer(bar('SPY', '15:32'))).toBe('queued');
    expect(p.offer(bar('SPY', '15:33'))).toBe('overflow');
    expect(p.bufferFill()).toBe(1);
    await server.start();
    await p.idle();
    expect(cleared).toBe(1);
    // 15:33 was never marked published, so a backfill from the last published bar fetches it.
    expect(p.lastPublished().get('SPY')).toBe(Date.parse('2026-11-27T15:32:00Z'));
    expect(p.offer(bar('SPY', '15:33', 'backfill'))).toBe('queued');
    await p.idle();
    expect((await stored()).map((r) => r.bar.t.slice(11, 16))).toEqual(['15:31', '15:32', '15:33']);
  });

  it('numbers corrections of a bar already out as revisions', async () => {
    const p = publisher();
    p.offer(bar('SPY', '15:31'));
    p.offerCorrection(bar('SPY', '15:31', 'live', 101));
    p.offerCorrection(bar('SPY', '15:31', 'live', 102));
    await p.idle();
    expect((await stored()).map((r) => r.msgId)).toEqual([
      'SPY:2026-11-27T15:31:00.000Z',
      'SPY:2026-11-27T15:31:00.000Z:r1',
      'SPY:2026-11-27T15:31:00.000Z:r2',
    ]);
  });

  it('stores a correction of a minute never out as its first bar, and one the audit stored as a revision', async () => {
    const p = publisher();
    for (const hhmm of ['15:31', '15:33', '15:35']) p.offer(bar('ILLQ', hhmm));
    p.offerCorrection(bar('ILLQ', '15:32', 'live', 101));
    expect(await p.offerRepair(bar('ILLQ', '15:34', 'audit'))).toBe(true);
    p.offerCorrection(bar('ILLQ', '15:34', 'live', 102));
    await p.idle();
    expect((await stored()).map((r) => `${r.msgId} @${r.bar.close}`)).toEqual([
      'ILLQ:2026-11-27T15:31:00.000Z @100',
      'ILLQ:2026-11-27T15:33:00.000Z @100',
      'ILLQ:2026-11-27T15:35:00.000Z @100',
      'ILLQ:2026-11-27T15:32:00.000Z @101',
      'ILLQ:2026-11-27T15:34:00.000Z @100',
      'ILLQ:2026-11-27T15:34:00.000Z:r1 @102',
    ]);
  });

  it('loses nothing while NATS is down: bars wait and go out once it is back', async () => {
    const p = publisher();
    p.offer(bar('SPY', '15:31'));
    await p.idle();
    await server.stop();
    for (const hhmm of ['15:32', '15:33', '15:34']) p.offer(bar('SPY', hhmm));
    await new Promise((r) => setTimeout(r, 500));
    // Queued is not stored: what the heartbeat reports stays at the last acknowledged bar meanwhile.
    expect(p.lastPublished().get('SPY')).toBe(Date.parse('2026-11-27T15:34:00Z'));
    expect(p.lastStored().get('SPY')).toBe(Date.parse('2026-11-27T15:31:00Z'));
    await server.start();
    await p.idle();
    expect((await stored()).map((r) => r.bar.t.slice(11, 16))).toEqual(['15:31', '15:32', '15:33', '15:34']);
    expect(p.lastStored().get('SPY')).toBe(Date.parse('2026-11-27T15:34:00Z'));
  });

  it('publishes a burst of many symbols exactly once and each in time order, across a NATS restart mid-burst', async () => {
    const p = publisher({ maxBuffered: 10_000 });
    const symbols = Array.from({ length: 40 }, (_, i) => `S${i}`);
    const minutes = Array.from({ length: 25 }, (_, i) => `15:${String(10 + i).padStart(2, '0')}`);
    for (const hhmm of minutes) for (const s of symbols) p.offer(bar(s, hhmm));
    await server.restart();
    await p.idle();
    const rows = await stored();
    expect(rows).toHaveLength(symbols.length * minutes.length);
    for (const s of symbols)
      expect(rows.filter((r) => r.bar.symbol === s).map((r) => r.bar.t.slice(11, 16))).toEqual(minutes);
  });

  it('holds every bar while the replica may not publish, says so once, and sends them in order once it may', async () => {
    const log = captureLogger();
    let leader = false;
    const p = new BarPublisher({
      stream: new StreamPublisher({ nc, timeoutMs: 2000 }),
      logger: log.logger,
      metrics: new Metrics('gw', { defaultMetrics: false }),
      retry: { initialMs: 20, maxMs: 50 },
      maxBuffered: 1000,
      mayPublish: () => leader,
    });
    for (const hhmm of ['15:31', '15:32', '15:33']) for (const s of ['SPY', 'AAPL']) p.offer(bar(s, hhmm));
    await new Promise((r) => setTimeout(r, 400));
    expect(await stored()).toHaveLength(0);
    expect(p.buffered()).toBe(6);
    const said = (msg: string) => log.lines().filter((l) => l.msg === msg).length;
    expect(said('the lease could have lapsed: holding bars, not publishing')).toBe(1);
    leader = true;
    await p.idle();
    const rows = await stored();
    for (const s of ['SPY', 'AAPL'])
      expect(rows.filter((r) => r.bar.symbol === s).map((r) => r.bar.t.slice(11, 16))).toEqual([
        '15:31',
        '15:32',
        '15:33',
      ]);
    expect(said('JetStream accepting bars again')).toBe(1);
  });

  it('retries the publishes in flight when NATS drops as soon as it is back, not after their ack timeout', async () => {
    // An ack timeout far longer than the test may take: only the reconnect can cut the wait short.
    const p = publisher({ maxBuffered: 10_000, publishTimeoutMs: 60_000 });
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') p.reconnected();
    })();
    const symbols = Array.from({ length: 40 }, (_, i) => `R${i}`);
    const minutes = Array.from({ length: 30 }, (_, i) => `14:${String(10 + i).padStart(2, '0')}`);
    for (const hhmm of minutes) for (const s of symbols) p.offer(bar(s, hhmm));
    await server.restart();
    const drained = await Promise.race([
      p.idle().then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 20_000)),
    ]);
    expect(drained).toBe(true);
    const rows = await stored();
    expect(rows).toHaveLength(symbols.length * minutes.length);
    for (const s of symbols)
      expect(rows.filter((r) => r.bar.symbol === s).map((r) => r.bar.t.slice(11, 16))).toEqual(minutes);
  }, 40_000);
});
