import { connect, type NatsConnection } from '@nats-io/transport-node';
import { encode, ExecutorHaltReply, subjects } from '@vigil/contracts';
import { Metrics } from '@vigil/service-kit';
import { captureLogger, startNats, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CommandSender } from './commands.js';

let server: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startNats();
  nc = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc?.close();
  await server?.cleanup();
});

function sender(): CommandSender {
  return new CommandSender({ nc, logger: captureLogger().logger, metrics: new Metrics('t', { defaultMetrics: false }), requestedBy: 'wd-test', timeoutMs: 100, flattenTimeoutMs: 150, attempts: 3, backoffMs: 10 });
}

/** A responder that counts requests and never answers them. */
function silentResponder(subject: string): { count: () => number; stop: () => void } {
  let n = 0;
  const sub = nc.subscribe(subject, { callback: () => void (n += 1) });
  return { count: () => n, stop: () => sub.unsubscribe() };
}

it('sends a flatten once: after a timeout the executor may still be closing positions', async () => {
  const executor = silentResponder(subjects.executorFlatten);
  await nc.flush();
  const outcome = await sender().send('flatten', 'stale-1', 'test');
  executor.stop();
  expect(outcome).toMatchObject({ ok: false, outcome: 'timeout', attempts: 1 });
  expect(executor.count()).toBe(1);
});

it('retries a halt that timed out, up to its attempts, and takes the first answer', async () => {
  let n = 0;
  const sub = nc.subscribe(subjects.executorHalt, {
    callback: (_err, msg) => {
      n += 1;
      if (n < 2) return; // the first request goes unanswered
      msg.respond(encode(ExecutorHaltReply, { v: 1, ok: true, at: '2026-11-27T15:32:00.000Z', halt: { halted: true, since: '2026-11-27T15:32:00.000Z', reason: 'test', incidentId: 'stale-1' } }));
    },
  });
  await nc.flush();
  const outcome = await sender().send('halt', 'stale-1', 'test');
  sub.unsubscribe();
  expect(outcome).toMatchObject({ ok: true, outcome: 'ok', attempts: 2 });
});
