import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runDurableConsumer, type Disposition } from './durable-consumer.js';
import { Metrics } from './metrics.js';
import { captureLogger } from './testing/log-capture.js';
import { startNats, type NatsServerHandle } from './testing/nats-server.js';
import { waitFor } from './testing/wait-for.js';

let server: NatsServerHandle;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startNats({ own: true });
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'T', subjects: ['t.>'] });
  await jsm.consumers.add('T', { durable_name: 'd', ack_policy: AckPolicy.Explicit });
});
afterAll(async () => {
  await nc?.close();
  await server?.cleanup();
});

it('acks after handling, terms on request, redelivers after a throw, and stops cleanly', async () => {
  const js = jetstream(nc);
  for (const s of ['ok', 'bad', 'flaky']) await js.publish(`t.${s}`, s);
  const seen: string[] = [];
  let flakyFailed = false;
  const { logger, lines } = captureLogger();
  const consumer = runDurableConsumer({
    nc,
    stream: 'T',
    durable: 'd',
    logger,
    metrics: new Metrics('test', { defaultMetrics: false }),
    retry: { initialMs: 10, maxMs: 50 },
    handle: async (msg): Promise<Disposition> => {
      seen.push(msg.subject);
      if (msg.subject === 't.bad') return 'term';
      if (msg.subject === 't.flaky' && !flakyFailed) {
        flakyFailed = true;
        throw new Error('broker down');
      }
      return 'ack';
    },
  });
  const deadline = Date.now() + 10_000;
  while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await consumer.stop();
  expect(seen).toEqual(['t.ok', 't.bad', 't.flaky', 't.flaky']);
  const info = await (await jetstreamManager(nc)).consumers.info('T', 'd');
  expect(info.num_ack_pending).toBe(0);
  expect(info.num_pending).toBe(0);
  expect(lines().some((l) => l.msg === 'handler failed; message will be redelivered')).toBe(true);
});

it('keeps consuming after the NATS server restarts', async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add('T', { durable_name: 'r', ack_policy: AckPolicy.Explicit, filter_subject: 't.r.>' });
  const seen: string[] = [];
  const { logger } = captureLogger();
  const consumer = runDurableConsumer({
    nc,
    stream: 'T',
    durable: 'r',
    logger,
    metrics: new Metrics('test', { defaultMetrics: false }),
    pullExpiresMs: 2_000,
    handle: async (msg): Promise<Disposition> => {
      seen.push(msg.subject);
      return 'ack';
    },
  });
  const js = jetstream(nc);
  await js.publish('t.r.before', 'x');
  await waitFor('the message published before the restart', () => seen.length >= 1, { timeoutMs: 5_000 });
  await server.restart();
  // Published as soon as the server takes it: the consumer must find it within a few pull lifetimes.
  for (;;) {
    const ok = await js.publish('t.r.after', 'y', { timeout: 1_000 }).then(
      () => true,
      () => false,
    );
    if (ok) break;
  }
  await waitFor('the message published after the restart', () => seen.length >= 2, { timeoutMs: 12_000 });
  await consumer.stop();
  expect(seen).toEqual(['t.r.before', 't.r.after']);
}, 30_000);

// The executor stops its consumer right after starting it in tests and on a quick shutdown: a stop that lands
// while the loop still awaits `consume()` must end the loop, not leave it iterating a pull nobody stops.
it('stops when asked while it is still attaching', async () => {
  const { logger } = captureLogger();
  for (let i = 0; i < 5; i++) {
    const consumer = runDurableConsumer({
      nc,
      stream: 'T',
      durable: 'd',
      logger,
      metrics: new Metrics('test', { defaultMetrics: false }),
      handle: async (): Promise<Disposition> => 'ack',
    });
    // Let the loop reach `consume()` on some rounds and not on others.
    if (i > 0) await new Promise((r) => setTimeout(r, i));
    const stopped = await Promise.race([
      consumer.stop().then(() => 'stopped'),
      new Promise((r) => setTimeout(() => r('still running after 8 s'), 8_000)),
    ]);
    expect(stopped).toBe('stopped');
  }
});

it('handles lanes side by side, each in order, and acks every message once handled', async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add('T', { durable_name: 'l', ack_policy: AckPolicy.Explicit, filter_subject: 't.l.>' });
  const js = jetstream(nc);
  for (const s of ['a.1', 'a.2', 'b.1', 'a.3', 'b.2']) await js.publish(`t.l.${s}`, s);
  let releaseA1 = () => {};
  const a1Held = new Promise<void>((r) => {
    releaseA1 = r;
  });
  const seen: string[] = [];
  const { logger } = captureLogger();
  const consumer = runDurableConsumer({
    nc,
    stream: 'T',
    durable: 'l',
    logger,
    metrics: new Metrics('test', { defaultMetrics: false }),
    lane: (msg) => msg.subject.split('.')[2] ?? '',
    maxInFlight: 8,
    handle: async (msg): Promise<Disposition> => {
      const name = msg.subject.slice('t.l.'.length);
      if (name === 'a.1') await a1Held;
      seen.push(name);
      return 'ack';
    },
  });
  // Lane b is not held up by a.1; lane a waits for it.
  await waitFor('lane b handled while a.1 is held', () => seen.includes('b.2'), { timeoutMs: 10_000 });
  expect(seen).toEqual(['b.1', 'b.2']);
  releaseA1();
  await waitFor('lane a handled', () => seen.length === 5, { timeoutMs: 10_000 });
  await consumer.stop();
  expect(seen).toEqual(['b.1', 'b.2', 'a.1', 'a.2', 'a.3']);
  const info = await jsm.consumers.info('T', 'l');
  expect(info.num_ack_pending).toBe(0);
  expect(info.num_pending).toBe(0);
});
