import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { waitFor } from '@vigil/service-kit/testing';
import { describe, expect, it } from 'vitest';
import {
  alertCollector,
  fakeBroker,
  fakeExecutor,
  fakeGateway,
  natsSuite,
  reconnected,
  runWatchdog,
} from './harness.js';

const suite = natsSuite();
const later = suite.later;

describe('watchdog against a real nats-server', () => {
  it('stale bars: no_bar and reconnect, then halt and one flatten, then resume with the stale duration; a hung webhook blocks nothing', async () => {
    // A webhook that never answers, and a command hook that works: alerts still go out on NATS and to the hook.
    const hung = createServer(() => undefined);
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    later({
      close: () =>
        new Promise<void>((r) => {
          hung.closeAllConnections();
          hung.close(() => r());
        }),
    });
    const dir = await mkdtemp(join(tmpdir(), 'watchdog-hook-'));
    later({ close: () => rm(dir, { recursive: true, force: true }) });
    const hookFile = join(dir, 'alerts.jsonl');

    const collector = later(await alertCollector(suite.server.url));
    const gateway = later(await fakeGateway(suite.server.url));
    const executor = later(await fakeExecutor(suite.server.url));
    const broker = fakeBroker('open');
    const webhook = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/services/T0/B0/very-secret-token`;
    const wd = later(
      await runWatchdog(suite.server.url, broker.source, {
        FLATTEN_POLICY: 'flatten',
        RESUME_AFTER_FLATTEN: 'auto',
        ALERT_WEBHOOK_URL: webhook,
        ALERT_COMMAND: `cat >> '${hookFile}'; echo >> '${hookFile}'`,
      }),
    );

    await waitFor('bars seen', () => wd.watchdog.status().barsPerMinute > 3);
    gateway.bars = false;

    const noBar = await waitFor('no_bar alert', () => collector.of('no_bar', 'open')[0]);
    expect(noBar.severity).toBe('critical');
    await waitFor('reconnect command', () => gateway.requests.length > 0);
    expect(gateway.requests[0]).toMatchObject({ incidentId: noBar.incidentId, requestedBy: 'watchdog-test' });
    await waitFor('reconnect info alert', () => collector.of('reconnect').length > 0);

    await waitFor('flatten', () => executor.requests.some((r) => r.command === 'flatten'));
    const halt = await waitFor('stale_halt alert', () => collector.of('stale_halt')[0]);
    expect(halt.incidentId).toBe(noBar.incidentId);
    await new Promise((r) => setTimeout(r, 700)); // more ticks: nothing is sent twice
    expect(executor.requests).toEqual([
      { command: 'halt', incidentId: noBar.incidentId },
      { command: 'flatten', incidentId: noBar.incidentId },
    ]);
    expect(collector.of('flatten')).toHaveLength(1);
    expect(wd.watchdog.status().incident).toMatchObject({ id: noBar.incidentId, halt: 'done', flatten: 'done' });

    // A backfill's burst of hour-old bars shows the gateway works, not that data is live: the incident stays open.
    gateway.barAgeMs = 3_600_000;
    gateway.bars = true;
    await waitFor('old bars seen', async () =>
      /vigil_watchdog_old_bars_total\{service="watchdog"\} [1-9]/.test(await wd.metrics.registry.metrics()),
    );
    await new Promise((r) => setTimeout(r, 700)); // longer than RESUME_AFTER_MS
    expect(collector.of('resumed')).toEqual([]);
    expect(wd.watchdog.status().incident?.freshSince).toBeNull();

    gateway.barAgeMs = 0;
    const resolved = await waitFor('resumed alert', () => collector.of('resumed', 'resolved')[0]);
    expect(resolved.incidentId).toBe(noBar.incidentId);
    expect(resolved.durationMs).toBeGreaterThanOrEqual(1500);
    await waitFor('resume command', () => executor.requests.some((r) => r.command === 'resume'));
    // The resume names the incident its halt was for (the executor refuses any other).
    expect(executor.requests.find((r) => r.command === 'resume')?.incidentId).toBe(noBar.incidentId);
    expect(collector.of('no_bar')).toHaveLength(1);

    // The command hook got everything while the webhook was still timing out on the first alerts.
    const hooked = async () =>
      (await readFile(hookFile, 'utf8').catch(() => ''))
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { kind: string }).kind);
    const kinds = await waitFor('command hook deliveries', async () => {
      const seen = await hooked();
      return seen.includes('resumed') && seen;
    });
    expect(kinds).toEqual(expect.arrayContaining(['no_bar', 'stale_halt', 'flatten', 'resumed']));
    expect(wd.log.text()).not.toContain('very-secret-token');
    expect(await wd.metrics.registry.metrics()).toMatch(
      /vigil_watchdog_sink_deliveries_total\{sink="webhook",outcome="(retry|failed)"/,
    );
  });

  it('a dead gateway and an absent executor: gateway_down, failed reconnects escalate to halt, each failure alerted once, no flatten', async () => {
    const collector = later(await alertCollector(suite.server.url));
    const gateway = later(await fakeGateway(suite.server.url));
    const wd = later(
      await runWatchdog(suite.server.url, fakeBroker('open').source, {
        FLATTEN_POLICY: 'flatten',
        FLATTEN_AFTER_MS: '60000',
      }),
    );
    await waitFor('bars seen', () => wd.watchdog.status().barsPerMinute > 2);

    // Kill the gateway: no heartbeats, no bars, nobody answers its reconnect subject.
    gateway.heartbeats = false;
    gateway.bars = false;
    gateway.reconnectReplies('absent');
    await waitFor('gateway_down', () => collector.of('gateway_down', 'open')[0]);
    const noBar = await waitFor('no_bar', () => collector.of('no_bar', 'open')[0]);
    // Three failed reconnects (long before FLATTEN_AFTER_MS) halt; nobody answers the halt either.
    const halt = await waitFor('stale_halt', () => collector.of('stale_halt')[0]);
    expect(halt.details).toMatchObject({ reconnectFailures: 3 });
    await waitFor('halt failure alerted', () =>
      collector.of('command_failed').find((a) => a.details.command === 'halt'),
    );
    await new Promise((r) => setTimeout(r, 800));
    const failed = collector.of('command_failed').map((a) => a.details.command);
    expect(failed.sort()).toEqual(['halt', 'reconnect']);
    expect(collector.of('flatten')).toEqual([]);
    expect(collector.of('no_bar')).toHaveLength(1);
    expect(await wd.metrics.registry.metrics()).toMatch(
      /vigil_watchdog_commands_total\{command="reconnect",outcome="no_responders",service="watchdog"\} [3-9]/,
    );

    // The gateway comes back.
    gateway.reconnectReplies('ok');
    gateway.heartbeats = true;
    gateway.bars = true;
    const back = await waitFor('gateway_down resolved', () => collector.of('gateway_down', 'resolved')[0]);
    expect(back.durationMs).toBeGreaterThan(500);
    const resolved = await waitFor('resumed', () => collector.of('resumed', 'resolved')[0]);
    expect(resolved.incidentId).toBe(noBar.incidentId);
  });

  it('fires nothing while the broker says closed; alerts (but never flattens) when the broker clock is unreachable', async () => {
    const collector = later(await alertCollector(suite.server.url));
    const gateway = later(await fakeGateway(suite.server.url));
    const executor = later(await fakeExecutor(suite.server.url));
    gateway.bars = false;
    gateway.heartbeats = false;
    const broker = fakeBroker('closed');
    const wd = later(
      await runWatchdog(suite.server.url, broker.source, { FLATTEN_POLICY: 'flatten', FLATTEN_AFTER_MS: '900' }),
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(wd.watchdog.status().phase).toBe('closed');
    expect(collector.alerts).toEqual([]);
    expect(gateway.requests).toEqual([]);

    broker.set('down');
    await waitFor('no_bar on unknown phase', () => collector.of('no_bar', 'open')[0]);
    expect(wd.watchdog.status().phase).toBe('unknown');
    await waitFor('halt', () => executor.requests.some((r) => r.command === 'halt'));
    await new Promise((r) => setTimeout(r, 500));
    expect(executor.requests.map((r) => r.command)).toEqual(['halt']);
  });

  it('logs and counts malformed messages, once each, and keeps working', async () => {
    const nc = later(await connect({ servers: suite.server.url }));
    const wd = later(await runWatchdog(suite.server.url, fakeBroker('open').source));
    const enc = new TextEncoder();
    nc.publish('md.heartbeat', enc.encode('{"v":1,'));
    nc.publish('md.bars.1m.SPY', enc.encode(JSON.stringify({ v: 1, symbol: 'SPY', t: 'yesterday' })));
    nc.publish('md.bars.1m.AAPL', enc.encode('not json at all'));
    const gateway = later(await fakeGateway(suite.server.url));
    await waitFor('a good bar after the bad ones', () => wd.watchdog.status().symbols.find((s) => s.symbol === 'SPY'));
    await gateway.close();
    const bad = wd.log.lines().filter((l) => l.msg === 'ignored a malformed message');
    expect(bad).toHaveLength(3);
    expect(bad.map((l) => (l.err as { type: string }).type)).toEqual(['DecodeError', 'DecodeError', 'DecodeError']);
    const text = await wd.metrics.registry.metrics();
    expect(text).toMatch(/vigil_watchdog_bad_messages_total\{kind="heartbeat",service="watchdog"\} 1/);
    expect(text).toMatch(/vigil_watchdog_bad_messages_total\{kind="bar",service="watchdog"\} 2/);
  });

  it('gives its health for health.watchdog: the figures', async () => {
    later(await fakeGateway(suite.server.url));
    const wd = later(await runWatchdog(suite.server.url, fakeBroker('open').source));
    const health = await waitFor('health with bars', () => {
      const h = wd.watchdog.health();
      return (h.figures.barsPerMinute ?? 0) > 0 && h;
    });
    expect(health).toMatchObject({
      status: 'ok',
      figures: { reconnects: 0, openAlerts: 0, uptimePct: 100, executorHalted: 0 },
      notes: ['market open'],
    });
    expect(health.figures.lastBarAgeMs).toBeLessThan(1000);
  });

  it('keeps an open incident across a NATS restart and a watchdog restart: no second page, no second halt, one resume', async () => {
    const collector = later(await alertCollector(suite.server.url));
    const gateway = later(await fakeGateway(suite.server.url));
    const executor = later(await fakeExecutor(suite.server.url));
    const broker = fakeBroker('open');
    const first = await runWatchdog(suite.server.url, broker.source, {
      FLATTEN_POLICY: 'halt',
      FLATTEN_AFTER_MS: '900',
    });
    await waitFor('bars seen', () => first.watchdog.status().barsPerMinute > 2);
    gateway.bars = false;
    const noBar = await waitFor('no_bar', () => collector.of('no_bar', 'open')[0]);
    await waitFor('halt', () => first.watchdog.status().incident?.halt === 'done');

    await suite.server.restart();
    // Every client is back once a round trip to the server completes.
    await Promise.all([first.nc, executor.nc, gateway.nc, collector.nc].map(reconnected));
    await first.stop();
    await first.watchdog.idle();

    const second = later(
      await runWatchdog(suite.server.url, broker.source, { FLATTEN_POLICY: 'halt', FLATTEN_AFTER_MS: '900' }),
    );
    expect(second.watchdog.status().incident).toMatchObject({ id: noBar.incidentId, halt: 'done' });
    await new Promise((r) => setTimeout(r, 800));
    gateway.bars = true;
    const resolved = await waitFor('resumed', () => collector.of('resumed', 'resolved')[0]);
    expect(resolved.incidentId).toBe(noBar.incidentId);
    await waitFor('resume', () => executor.requests.some((r) => r.command === 'resume'));
    expect(collector.of('no_bar')).toHaveLength(1);
    expect(executor.requests.map((r) => r.command)).toEqual(['halt', 'resume']);
    expect(second.log.lines().some((l) => l.msg === 'recovered watchdog state')).toBe(true);
  });
});
