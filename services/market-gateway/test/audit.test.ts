import { type Bar, ensureStreams, streams } from '@vigil/contracts';
import { createAlpacaRest, Metrics } from '@vigil/service-kit';
import { captureLogger, waitFor } from '@vigil/service-kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Auditor } from '../src/auditor.js';
import { barFromWire } from '../src/bars.js';
import { BarPublisher } from '../src/publisher.js';
import { StreamPublisher } from '../src/stream-publish.js';
import { fetchBars } from '../src/rest-bars.js';
import { StoredBars } from '../src/stored-bars.js';
import { world, type World } from './harness.js';

let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const MIN = 60_000;

/** The auditor over a real JetStream and the simulator's REST, the market paused after `minutes` minutes. */
async function auditRig(minutes: number) {
  const world_ = await world();
  w = world_;
  await waitFor('simulated minutes', () => world_.sim.emittedBars('SPY').length >= minutes, { timeoutMs: 20_000 });
  world_.sim.clock.setPaused(true);
  await ensureStreams(world_.jsm, [streams.bars]);
  const { keyId, secret } = world_.sim.credentials;
  const rest = createAlpacaRest({
    APCA_API_KEY_ID: keyId,
    APCA_API_SECRET_KEY: secret,
    ALPACA_DATA_URL: world_.sim.url,
    ALPACA_TRADING_URL: world_.sim.url,
  });
  const brokerNow = () => world_.sim.clock.now();
  const restBars = async (): Promise<Bar[]> => {
    const { bars } = await fetchBars(rest.stocks, { symbols: ['SPY'], start: brokerNow() - 60 * MIN, feed: 'iex' });
    return (bars.get('SPY') ?? []).flatMap((b) => {
      const c = barFromWire(b, 'SPY', 'backfill', 'iex', new Date(brokerNow()));
      return c.ok ? [c.bar] : [];
    });
  };
  /** A gateway's publisher, record and auditor, as a process would have them (a new one: a restart). */
  const process = () => {
    const { logger, lines } = captureLogger({ level: 'debug' });
    const metrics = new Metrics('market-gateway', { defaultMetrics: false });
    const stored = new StoredBars();
    const publisher = new BarPublisher({
      stream: new StreamPublisher({ nc: world_.nc, timeoutMs: 2000 }),
      logger,
      metrics,
      retry: { initialMs: 50, maxMs: 200 },
      maxBuffered: 10_000,
      onStored: (bar, duplicate) => stored.record(bar, duplicate),
    });
    const auditor = new Auditor({
      bars: { stocks: rest.stocks },
      publisher,
      stored,
      symbols: () => ['SPY'],
      feed: 'iex',
      intervalMs: 3_600_000,
      windowMs: 60 * MIN,
      lagMs: 0,
      rejectBar: () => {
        throw new Error('no invalid bar expected');
      },
      brokerNow,
      logger,
      metrics,
    });
    return { publisher, auditor, metrics, lines };
  };
  return { world: world_, restBars, process };
}

describe('the audit against the simulator and a real nats-server', () => {
  it('stores a bar the stream lacks and a changed bar as its next revision, and reports both', async () => {
    const rig = await auditRig(8);
    const rest = await rig.restBars();
    expect(rest.length).toBeGreaterThanOrEqual(6);
    const hole = rest[2]!;
    const changed = rest[3]!;
    const gw = rig.process();
    for (const bar of rest) {
      if (bar === hole) continue;
      gw.publisher.offer(bar === changed ? { ...bar, close: bar.close + 0.01, high: bar.high + 0.01 } : bar);
    }
    await gw.publisher.idle();

    gw.auditor.trigger('test');
    await gw.auditor.idle();
    await gw.publisher.idle();

    expect(gw.auditor.report()).toMatchObject({ missing: 1, revised: 1, lastAuditAt: expect.any(String) });
    const stored = (await rig.world.storedBars()).filter((b) => b.source === 'audit');
    expect(stored.map((b) => [b.t, b.revision, b.close])).toEqual([
      [hole.t, 0, hole.close],
      [changed.t, 1, changed.close],
    ]);
    const metrics = await gw.metrics.registry.metrics();
    expect(metrics).toMatch(/vigil_gateway_audit_repairs_total\{[^}]*kind="missing"[^}]*\} 1\n/);
    expect(metrics).toMatch(/vigil_gateway_audit_repairs_total\{[^}]*kind="revised"[^}]*\} 1\n/);
    expect(gw.lines().filter((l) => l.msg?.toString().startsWith('audit repaired'))).toHaveLength(1);

    // A second audit finds everything in place.
    gw.auditor.trigger('again');
    await gw.auditor.idle();
    expect(gw.auditor.report()).toMatchObject({ missing: 1, revised: 1 });
  });

  it('after a restart confirms what the stream holds by its dedup, and repairs nothing', async () => {
    const rig = await auditRig(6);
    const first = rig.process();
    for (const bar of await rig.restBars()) first.publisher.offer(bar);
    await first.publisher.idle();
    const before = (await rig.world.storedBars()).length;

    // As a restarted gateway does: it carries on after the last stored bar, and knows nothing of the others.
    const restarted = rig.process();
    await restarted.publisher.loadLastPublished(rig.world.jsm, ['SPY']);
    restarted.auditor.trigger('test');
    await restarted.auditor.idle();
    await restarted.publisher.idle();

    expect(restarted.auditor.report()).toMatchObject({ missing: 0, revised: 0 });
    expect((await rig.world.storedBars()).length).toBe(before);
    const metrics = await restarted.metrics.registry.metrics();
    expect(metrics).toMatch(/vigil_gateway_audits_total\{[^}]*outcome="clean"[^}]*\} 1\n/);
  });
});
