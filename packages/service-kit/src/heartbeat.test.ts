import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decodeAs, HealthReport, healthSubject } from '@vigil/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Heartbeat } from './heartbeat.js';
import { Metrics } from './metrics.js';
import { captureLogger } from './testing/log-capture.js';
import { startNats, type NatsServerHandle } from './testing/nats-server.js';

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

const report = (seq: number, status: 'ok' | 'down' = 'ok') => ({
  v: 1 as const,
  service: 'probe',
  instanceId: 'probe-1',
  version: '0.1.0',
  at: new Date().toISOString(),
  status,
  uptimeSec: seq,
  figures: {},
  notes: [],
});

describe('Heartbeat against a real nats-server', () => {
  it('skips its beats while `when` says false, and beats again when it says true', async () => {
    const { logger } = captureLogger();
    const got: number[] = [];
    const sub = nc.subscribe(healthSubject('gated'), {
      callback: (_e, m) => {
        const d = decodeAs(HealthReport, m.subject, m.data);
        if (d.ok) got.push(d.value.uptimeSec);
      },
    });
    await nc.flush();
    let open = false;
    const hb = new Heartbeat({
      nc,
      subject: healthSubject('gated'),
      schema: HealthReport,
      build: report,
      intervalMs: 10,
      when: () => open,
      logger,
      metrics: new Metrics('t', { defaultMetrics: false }),
      failures: { name: 'gated_heartbeat_failures_total', help: 'x' },
    });
    hb.start();
    await new Promise((r) => setTimeout(r, 100));
    await nc.flush();
    expect(got).toEqual([]);
    open = true;
    while (got.length < 2) await new Promise((r) => setTimeout(r, 10));
    hb.stop();
    sub.unsubscribe();
    // No sequence number was spent on a skipped beat.
    expect(got.slice(0, 2)).toEqual([0, 1]);
  });

  it('publishes validated messages with a rising sequence until stopped', async () => {
    const { logger } = captureLogger();
    const got: number[] = [];
    const sub = nc.subscribe(healthSubject('probe'), {
      callback: (_e, m) => {
        const d = decodeAs(HealthReport, m.subject, m.data);
        if (d.ok) got.push(d.value.uptimeSec);
      },
    });
    await nc.flush();
    const hb = new Heartbeat({
      nc,
      subject: healthSubject('probe'),
      schema: HealthReport,
      build: report,
      intervalMs: 20,
      logger,
      metrics: new Metrics('t', { defaultMetrics: false }),
      failures: { name: 'probe_heartbeat_failures_total', help: 'x' },
    });
    hb.start();
    hb.start(); // a second start must not add a second timer that stop() would leave running
    while (got.length < 3) await new Promise((r) => setTimeout(r, 10));
    hb.stop();
    const seen = got.length;
    await new Promise((r) => setTimeout(r, 100));
    sub.unsubscribe();
    expect(got.slice(0, 3)).toEqual([0, 1, 2]);
    expect(got.length - seen).toBeLessThanOrEqual(1); // at most one in flight when stopped
  });

  it('logs a run of failures once, counts each, and says when heartbeats flow again', async () => {
    const { logger, lines } = captureLogger();
    const metrics = new Metrics('t', { defaultMetrics: false });
    let broken = true;
    // An invalid message is refused by encode(): the same path as a publish that throws.
    const hb = new Heartbeat({
      nc,
      subject: healthSubject('probe'),
      schema: HealthReport,
      build: (seq) => (broken ? { ...report(seq), uptimeSec: -1 } : report(seq)),
      intervalMs: 1_000_000,
      logger,
      metrics,
      failures: { name: 'probe_heartbeat_failures_total', help: 'x' },
    });
    hb.beat();
    hb.beat();
    broken = false;
    hb.beat();
    expect(lines().filter((l) => l.msg === 'cannot send heartbeat')).toHaveLength(1);
    expect(lines().filter((l) => l.msg === 'heartbeats flowing again')).toHaveLength(1);
    expect(await metrics.registry.getSingleMetricAsString('vigil_probe_heartbeat_failures_total')).toMatch(/} 2$/m);
  });
});
