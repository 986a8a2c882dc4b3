import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decodeOn, HealthReport, healthSubject } from '@vigil/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthReport, startHealthReporter, type HealthIdentity } from './health-reporter.js';
import { Metrics } from './metrics.js';
import { Readiness } from './readiness.js';
import { captureLogger } from './testing/log-capture.js';
import { startNats, type NatsServerHandle } from './testing/nats-server.js';
import { waitFor } from './testing/wait-for.js';

const T0 = Date.parse('2026-12-01T14:30:00Z');
const id: HealthIdentity = { service: 'probe', instanceId: 'probe-1a2b', version: '1.2.3', startedAt: T0 };
const ready = { ready: true, reasons: [] };

describe('healthReport', () => {
  it("carries the service's own status, figures and notes, its identity and whole seconds of uptime", () => {
    const r = healthReport(
      id,
      { status: 'ok', figures: { halted: 0, lastAgeMs: null }, notes: ['x'] },
      ready,
      T0 + 61_900,
    );
    expect(r).toEqual({
      v: 1,
      service: 'probe',
      instanceId: 'probe-1a2b',
      version: '1.2.3',
      at: '2026-12-01T14:31:01.900Z',
      status: 'ok',
      uptimeSec: 61,
      figures: { halted: 0, lastAgeMs: null },
      notes: ['x'],
    });
    expect(HealthReport.safeParse(r).success).toBe(true);
  });

  it('is at least degraded while the service is not ready, with the reasons first', () => {
    const notReady = { ready: false, reasons: ['nats: disconnected'] };
    const own = { status: 'ok' as const, figures: {}, notes: ['market open'] };
    expect(healthReport(id, own, notReady, T0)).toMatchObject({
      status: 'degraded',
      notes: ['nats: disconnected', 'market open'],
    });
    expect(healthReport(id, { ...own, status: 'down' }, notReady, T0).status).toBe('down');
    expect(healthReport(id, { ...own, status: 'degraded' }, ready, T0).status).toBe('degraded');
  });

  it('before the domain is wired: no figures, and degraded by the startup readiness', () => {
    const r = healthReport(id, null, { ready: false, reasons: ['startup: starting up'] }, T0);
    expect(r).toMatchObject({ status: 'degraded', figures: {}, notes: ['startup: starting up'], uptimeSec: 0 });
    expect(healthReport(id, null, ready, T0).status).toBe('ok');
  });
});

describe('startHealthReporter against a real nats-server', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNats({ own: true });
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.cleanup();
  });

  it('publishes health.<service> at once and every interval, with the figures read at each report, until stopped', async () => {
    const got: HealthReport[] = [];
    const sub = nc.subscribe(healthSubject('probe'), {
      callback: (_e, m) => {
        const d = decodeOn(HealthReport, m.subject, m.data);
        if (d.ok) got.push(d.value);
      },
    });
    await nc.flush();
    let n = 0;
    const readiness = new Readiness();
    const reporter = startHealthReporter({
      ...id,
      startedAt: Date.now(),
      nc,
      intervalMs: 50,
      health: () => ({ status: 'ok', figures: { n: n++ }, notes: [] }),
      readiness,
      logger: captureLogger().logger,
      metrics: new Metrics('probe', { defaultMetrics: false }),
    });
    await waitFor('three reports', () => got.length >= 3);
    readiness.set('feed', false, 'not streaming');
    await waitFor('a degraded report', () => got.find((r) => r.status === 'degraded'));
    reporter.stop();
    await nc.flush();
    const seen = got.length;
    await new Promise((r) => setTimeout(r, 200));
    sub.unsubscribe();
    expect(got.slice(0, 3).map((r) => r.figures.n)).toEqual([0, 1, 2]);
    expect(got[0]).toMatchObject({ service: 'probe', version: '1.2.3', status: 'ok' });
    expect(got.find((r) => r.status === 'degraded')?.notes).toEqual(['feed: not streaming']);
    expect(got.length).toBe(seen);
  });

  it('logs a run of failed publishes once and counts each', async () => {
    const closed = await connect({ servers: server.url });
    await closed.close();
    const { logger, lines } = captureLogger();
    const metrics = new Metrics('probe', { defaultMetrics: false });
    const reporter = startHealthReporter({
      ...id,
      nc: closed,
      intervalMs: 20,
      health: () => null,
      readiness: new Readiness(),
      logger,
      metrics,
    });
    const failures = async () =>
      (await metrics.registry.getSingleMetric('vigil_health_report_failures_total')?.get())?.values[0]?.value ?? 0;
    await waitFor('three failures counted', async () => (await failures()) >= 3);
    reporter.stop();
    const errors = lines().filter((l) => l.level === 50); // pino's error
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ subject: 'health.probe', component: 'health' });
  });
});
