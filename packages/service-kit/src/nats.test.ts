import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { barMsgId, consumers, ensureConsumers, ensureStreams, streams } from '@vigil/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';
import { connectNats } from './nats.js';
import { Readiness } from './readiness.js';
import { captureLogger } from './testing/log-capture.js';
import { startNats, type NatsServerHandle } from './testing/nats-server.js';
import { waitFor } from './testing/wait-for.js';

let server: NatsServerHandle;
beforeAll(async () => {
  server = await startNats({ own: true });
});
afterAll(async () => server?.cleanup());

describe('real nats-server harness and connection helper', () => {
  it('spawns a loopback server with JetStream and monitoring', async () => {
    expect(server.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    const varz = (await (await fetch(`${server.monitorUrl}/varz`)).json()) as { version: string; jetstream: unknown };
    expect(varz.version).toMatch(/^2\./);
  });

  it('logs and counts a disconnect and a reconnect across a server restart, and readiness follows', async () => {
    const { logger, lines } = captureLogger();
    const metrics = new Metrics('svc', { defaultMetrics: false });
    const readiness = new Readiness();
    const nc = await connectNats({ url: server.url, name: 'restart-test', logger, metrics, readiness });
    expect(readiness.check().ready).toBe(true);

    await server.stop();
    await waitFor('readiness to drop with the server down', () => !readiness.check().ready);
    expect(readiness.check().reasons[0]).toMatch(/disconnected/);
    await server.start();
    await waitFor('readiness to return after the restart', () => readiness.check().ready);

    const msgs = lines().map((l) => l.msg);
    expect(msgs).toContain('NATS disconnected; reconnecting');
    expect(msgs).toContain('NATS reconnected');
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/vigil_nats_status_events_total\{type="disconnect",service="svc"\} 1/);
    expect(text).toMatch(/vigil_nats_status_events_total\{type="reconnect",service="svc"\} 1/);
    expect(text).toMatch(/vigil_nats_connected\{service="svc"\} 1/);
    await nc.drain();
  });

  it('creates streams and consumers idempotently and drops a republished bar by its msg id', async () => {
    const { logger } = captureLogger();
    const nc = await connectNats({
      url: server.url,
      name: 'streams-test',
      logger,
      metrics: new Metrics('s', { defaultMetrics: false }),
    });
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm);
    await ensureStreams(jsm);
    await ensureConsumers(jsm, [consumers.strategyBars]);
    await ensureConsumers(jsm, [consumers.strategyBars]);
    const info = await jsm.streams.info(streams.bars.name);
    expect(info.config.subjects).toEqual(['md.bars.>']);
    expect(info.config.duplicate_window).toBe(streams.bars.duplicate_window);

    const js = jetstream(nc);
    const id = barMsgId('SPY', '2026-11-27T15:31:00Z');
    const first = await js.publish('md.bars.1m.SPY', '{}', { msgID: id });
    const again = await js.publish('md.bars.1m.SPY', '{}', { msgID: id });
    const revised = await js.publish('md.bars.1m.SPY', '{}', { msgID: barMsgId('SPY', '2026-11-27T15:31:00Z', 1) });
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);
    expect(revised.duplicate).toBe(false);
    await nc.drain();
  });
});
