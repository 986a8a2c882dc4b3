import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Alert } from '@vigil/contracts';
import { Metrics } from '@vigil/service-kit';
import { captureLogger } from '@vigil/service-kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { httpReceiver as receiver } from '../test/http-receiver.js';
import { webhookSink } from './sink-webhook.js';
import type { AlertDraft } from './drafts.js';
import { alertText, commandSink, SinkQueue } from './sinks.js';
import { testAlert as alert } from '../test/alert-fixture.js';

const fast = { attempts: 3, backoffMs: 10, minIntervalMs: 0, maxQueue: 50 };

/** The generic webhook's documented body: the one-line text and the `Alert` exactly as on NATS. */
const WebhookBody = z.strictObject({ text: z.string().min(1), alert: Alert });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('webhook sink', () => {
  it('posts a Slack-compatible text and the alert, once per incident step, retrying a 500', async () => {
    const rx = await receiver((n) => (n === 1 ? 500 : 200));
    cleanups.push(rx.close);
    const { logger, text } = captureLogger({ secrets: [rx.url] });
    const q = new SinkQueue(webhookSink(rx.url, 2000), {
      logger,
      metrics: new Metrics('t', { defaultMetrics: false }),
      ...fast,
    });
    const a = alert();
    q.push(a);
    q.push(alert()); // same incident, kind and status: a duplicate
    q.push(alert({ status: 'resolved', kind: 'resumed', durationMs: 1234, severity: 'info' }));
    await q.idle();
    expect(rx.requests()).toBe(3);
    expect(WebhookBody.parse(rx.bodies[0])).toEqual({ text: alertText(a), alert: a });
    expect(rx.bodies).toEqual([
      { text: alertText(a), alert: a },
      expect.objectContaining({ text: expect.stringContaining('[INFO] resumed (resolved)') }),
    ]);
    expect(text()).not.toContain('SECRET-PART');
  });

  it('delivers each failed command of an incident: a failed halt is not swallowed by an earlier failed reconnect', async () => {
    const rx = await receiver(() => 200);
    cleanups.push(rx.close);
    const q = new SinkQueue(webhookSink(rx.url, 2000), {
      logger: captureLogger().logger,
      metrics: new Metrics('t', { defaultMetrics: false }),
      ...fast,
    });
    const failed = (command: string, severity: Alert['severity']) =>
      alert({ kind: 'command_failed', status: 'info', severity, details: { command } });
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
    expect(await metrics.registry.metrics()).toMatch(
      /vigil_watchdog_sink_deliveries_total\{sink="webhook",outcome="failed",service="t"\} 1/,
    );
    expect(text()).not.toContain('SECRET-PART');
  });
});

describe('sink queue', () => {
  it('delivers an escalation of the same incident step (warning, then critical)', async () => {
    const rx = await receiver(() => 200);
    cleanups.push(rx.close);
    const q = new SinkQueue(webhookSink(rx.url, 2000), {
      logger: captureLogger().logger,
      metrics: new Metrics('t', { defaultMetrics: false }),
      ...fast,
    });
    const degraded = (severity: Alert['severity']) =>
      alert({ kind: 'feed_degraded', severity, incidentId: 'degraded-1' });
    q.push(degraded('warning'));
    q.push(degraded('critical'));
    q.push(degraded('critical'));
    await q.idle();
    expect(rx.bodies.map((b) => WebhookBody.parse(b).alert.severity)).toEqual(['warning', 'critical']);
  });

  it('a failing receiver raises one sink_failing, resolved when the sink delivers again', async () => {
    let up = false;
    const rx = await receiver(() => (up ? 200 : 503));
    cleanups.push(rx.close);
    const raised: AlertDraft[] = [];
    const { logger, lines } = captureLogger();
    const metrics = new Metrics('t', { defaultMetrics: false });
    const q = new SinkQueue(webhookSink(rx.url, 2000), {
      logger,
      metrics,
      ...fast,
      attempts: 2,
      failing: { afterFailures: 2, afterMs: 600_000, raise: (d) => void raised.push(d) },
    });
    for (let i = 0; i < 4; i++) q.push(alert({ incidentId: null }));
    await q.idle();
    expect(rx.requests()).toBe(8);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({
      kind: 'sink_failing',
      severity: 'warning',
      status: 'open',
      details: { sink: 'webhook', failures: 2, lastError: 'webhook answered HTTP 503' },
    });
    expect(await metrics.registry.metrics()).toMatch(/vigil_watchdog_sink_failing\{sink="webhook",service="t"\} 1/);
    expect(lines().filter((l) => l.msg === 'alert delivery failed; giving up on this alert')).toHaveLength(4);

    up = true;
    q.push(alert({ incidentId: null }));
    await q.idle();
    expect(raised).toHaveLength(2);
    expect(raised[1]).toMatchObject({ kind: 'sink_failing', status: 'resolved', incidentId: raised[0]!.incidentId });
    expect(await metrics.registry.metrics()).toMatch(/vigil_watchdog_sink_failing\{sink="webhook",service="t"\} 0/);
  });

  it('leaves a sink_failing about itself to the other sinks, and alerts the sink does not accept', async () => {
    const delivered: Alert[] = [];
    const q = new SinkQueue(
      { name: 'pager', accepts: (a) => a.severity !== 'info', deliver: async (a) => void delivered.push(a) },
      { logger: captureLogger().logger, metrics: new Metrics('t', { defaultMetrics: false }), ...fast },
    );
    const other = alert({
      kind: 'sink_failing',
      severity: 'warning',
      incidentId: 'sink-slack-1',
      details: { sink: 'slack' },
    });
    q.push(
      alert({ kind: 'sink_failing', severity: 'warning', incidentId: 'sink-pager-1', details: { sink: 'pager' } }),
    );
    q.push(alert({ kind: 'reconnect', severity: 'info', status: 'info' }));
    q.push(other);
    await q.idle();
    expect(delivered).toEqual([other]);
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
    const q = new SinkQueue(commandSink(cmd, 5000), {
      logger,
      metrics: new Metrics('t', { defaultMetrics: false }),
      ...fast,
    });
    const a = alert({ kind: 'flap', status: 'info', incidentId: null, severity: 'warning' });
    q.push(a);
    await q.idle();
    const written = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Alert);
    expect(written).toEqual([a]);
    expect(lines().find((l) => l.msg === 'alert delivery failed; retrying')).toMatchObject({
      err: { message: expect.stringContaining('code 3: boom') },
    });
  });

  it('runs the hook without the Alpaca keys, the NATS password or the webhook, Slack and PagerDuty secrets in its environment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'watchdog-sink-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'env.txt');
    const secrets = {
      APCA_API_KEY_ID: 'PKLEAKED',
      APCA_API_SECRET_KEY: 'very-secret',
      NATS_PASS: 'nats-secret',
      ALERT_WEBHOOK_URL: 'https://hooks.example/T0/secret',
      SLACK_WEBHOOK_URL: 'https://hooks.slack.example/T0/B0/slacksecret',
      PAGERDUTY_ROUTING_KEY: 'pdroutingkey0123',
    };
    const saved = { ...process.env };
    Object.assign(process.env, secrets, { VIGIL_PROBE: 'kept' });
    try {
      const q = new SinkQueue(commandSink(`env > '${out}'`, 5000), {
        logger: captureLogger().logger,
        metrics: new Metrics('t', { defaultMetrics: false }),
        ...fast,
      });
      q.push(alert({ incidentId: null }));
      await q.idle();
    } finally {
      for (const k of [...Object.keys(secrets), 'VIGIL_PROBE']) delete process.env[k];
      Object.assign(process.env, saved);
    }
    const env = await readFile(out, 'utf8');
    expect(env).toContain('VIGIL_PROBE=kept');
    expect(env).toContain('PATH=');
    for (const [name, value] of Object.entries(secrets)) {
      expect(env).not.toContain(name);
      expect(env).not.toContain(value);
    }
  });

  it('spaces deliveries by the minimum interval', async () => {
    const times: number[] = [];
    const q = new SinkQueue(
      { name: 'probe', deliver: async () => void times.push(Date.now()) },
      {
        logger: captureLogger().logger,
        metrics: new Metrics('t', { defaultMetrics: false }),
        ...fast,
        minIntervalMs: 100,
      },
    );
    for (let i = 0; i < 3; i++) q.push(alert({ incidentId: null }));
    await q.idle();
    expect(times).toHaveLength(3);
    expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(190);
  });
});
