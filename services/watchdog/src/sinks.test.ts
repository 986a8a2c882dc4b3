import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert } from '@vigil/contracts';
import { Metrics } from '@vigil/service-kit';
import { captureLogger } from '@vigil/service-kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { alertText, commandSink, SinkQueue, webhookSink } from './sinks.js';

const alert = (over: Partial<Alert> = {}): Alert => ({
  v: 1,
  id: `a-${Math.random().toString(36).slice(2)}`,
  kind: 'no_bar',
  severity: 'critical',
  status: 'open',
  incidentId: 'stale-1',
  message: 'no bar for 2.0 min while the market is open',
  at: '2026-11-27T15:32:00.000Z',
  durationMs: null,
  details: {},
  ...over,
});

const fast = { attempts: 3, backoffMs: 10, minIntervalMs: 0, maxQueue: 50 };

/** A real HTTP receiver on a random loopback port; `status` decides each answer. */
async function receiver(status: (n: number) => number | 'hang') {
  const bodies: unknown[] = [];
  let n = 0;
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const s = status(++n);
      if (s === 'hang') return;
      if (s < 300) bodies.push(JSON.parse(body));
      res.writeHead(s).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T000/SECRET-PART-xyz`;
  return { url, bodies, requests: () => n, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('webhook sink', () => {
  it('posts a Slack-compatible text and the alert, once per incident step, retrying a 500', async () => {
    const rx = await receiver((n) => (n === 1 ? 500 : 200));
    cleanups.push(rx.close);
    const { logger, text } = captureLogger({ secrets: [rx.url] });
    const q = new SinkQueue(webhookSink(rx.url, 2000), { logger, metrics: new Metrics('t', { defaultMetrics: false }), ...fast });
    const a = alert();
    q.push(a);
    q.push(alert()); // same incident, kind and status: a duplicate
    q.push(alert({ status: 'resolved', kind: 'resumed', durationMs: 1234, severity: 'info' }));
    await q.idle();
    expect(rx.requests()).toBe(3);
    expect(rx.bodies).toEqual([
      { text: alertText(a), alert: a },
      expect.objectContaining({ text: expect.stringContaining('[INFO] resumed (resolved)') }),
    ]);
    expect(text()).not.toContain('SECRET-PART');
  });

  it('delivers each failed command of an incident: a failed halt is not swallowed by an earlier failed reconnect', async () => {
    const rx = await receiver(() => 200);
    cleanups.push(rx.close);
    const q = new SinkQueue(webhookSink(rx.url, 2000), { logger: captureLogger().logger, metrics: new Metrics('t', { defaultMetrics: false }), ...fast });
    const failed = (command: string, severity: Alert['severity']) => alert({ kind: 'command_failed', status: 'info', severity, details: { command } });
    q.push(failed('reconnect', 'warning'));
    q.push(failed('halt', 'critical'));
    q.push(failed('halt', 'critical'));
    await q.idle();
    expect(rx.bodies.map((b) => (b as { alert: Alert }).alert.details.command)).toEqual(['reconnect', 'halt']);
  });

  it('gives up after its attempts without holding up the caller, and never logs the URL', async () => {
    const rx = await receiver(() => 'hang');
    cleanups.push(rx.close);
    const { logger, lines, text } = captureLogger({ secrets: [rx.url] });
    const metrics = new Metrics('t', { defaultMetrics: false });
    const q = new SinkQueue(webhookSink(rx.url, 200), { logger, metrics, ...fast, attempts: 2 });
    const started = Date.now();
    q.push(alert());
    expect(Date.now() - started).toBeLessThan(50);
    await q.idle();
    expect(rx.requests()).toBe(2);
    expect(lines().filter((l) => l.msg === 'alert delivery failed; giving up on this alert')).toHaveLength(1);
    expect(await metrics.registry.metrics()).toMatch(/vigil_watchdog_sink_deliveries_total\{sink="webhook",outcome="failed",service="t"\} 1/);
    expect(text()).not.toContain('SECRET-PART');
  });
});

describe('command sink', () => {
  it('runs the command with the alert JSON on stdin and retries a failing exit code', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'watchdog-sink-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'alerts.jsonl');
    const marker = join(dir, 'failed-once');
    // Fails the first time (no marker yet), succeeds after: a real retry through a real shell.
    const cmd = `if [ ! -f '${marker}' ]; then touch '${marker}'; echo boom >&2; exit 3; fi; cat >> '${out}'; echo >> '${out}'`;
    const { logger, lines } = captureLogger();
    const q = new SinkQueue(commandSink(cmd, 5000), { logger, metrics: new Metrics('t', { defaultMetrics: false }), ...fast });
    const a = alert({ kind: 'flap', status: 'info', incidentId: null, severity: 'warning' });
    q.push(a);
    await q.idle();
    const written = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Alert);
    expect(written).toEqual([a]);
    expect(lines().find((l) => l.msg === 'alert delivery failed; retrying')).toMatchObject({ err: { message: expect.stringContaining('code 3: boom') } });
  });

  it('spaces deliveries by the minimum interval', async () => {
    const times: number[] = [];
    const q = new SinkQueue(
      { name: 'probe', deliver: async () => void times.push(Date.now()) },
      { logger: captureLogger().logger, metrics: new Metrics('t', { defaultMetrics: false }), ...fast, minIntervalMs: 100 },
    );
    for (let i = 0; i < 3; i++) q.push(alert({ incidentId: null }));
    await q.idle();
    expect(times).toHaveLength(3);
    expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(190);
  });
});
