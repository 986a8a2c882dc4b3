import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Alert, decodeStored, ensureStreams, streams } from '@vigil/contracts';
import { Metrics } from '@vigil/service-kit';
import { captureLogger, startNats, waitFor, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AlertPublisher } from './alerts.js';

let server: NatsServerHandle;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startNats({ own: true });
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  await ensureStreams(await jetstreamManager(nc), [streams.alerts]);
});
afterAll(async () => {
  await nc?.close();
  await server?.cleanup();
});

const draft = (message: string) => ({
  kind: 'resumed' as const,
  severity: 'info' as const,
  status: 'resolved' as const,
  incidentId: 'stale-1',
  message,
  durationMs: 1000,
  details: {},
});

it('stores an alert raised while NATS restarts in ALERTS once it is back, in order, once each', async () => {
  const { logger, lines } = captureLogger();
  const alerts = new AlertPublisher(nc, logger, new Metrics('watchdog', { defaultMetrics: false }), []);
  alerts.emit(draft('before'), Date.now());
  await alerts.idle();
  await server.stop();
  const during = alerts.emit(draft('during the restart'), Date.now());
  await new Promise((r) => setTimeout(r, 300));
  await server.start();
  await waitFor(
    'the alert raised during the restart stored',
    async () => {
      const jsm = await jetstreamManager(nc).catch(() => null);
      const info = await jsm?.streams.info(streams.alerts.name).catch(() => null);
      return info && info.state.messages >= 2;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  await alerts.idle();
  const jsm = await jetstreamManager(nc);
  const stored = [1, 2].map(async (seq) =>
    decodeStored(Alert, (await jsm.streams.getMessage(streams.alerts.name, { seq }))!),
  );
  expect((await Promise.all(stored)).map((a) => a.message)).toEqual(['before', 'during the restart']);
  expect((await Promise.all(stored))[1]!.id).toBe(during.id);
  expect((await jsm.streams.info(streams.alerts.name)).state.messages).toBe(2);
  expect(lines().some((l) => l.msg === 'alert not acknowledged by JetStream; retrying until it is')).toBe(true);
  alerts.stop();
});
