import { connect, type NatsConnection } from '@nats-io/transport-node';
import { commands, encode, ExecutorHaltReply } from '@vigil/contracts';
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
  return new CommandSender({
    nc,
    logger: captureLogger().logger,
    metrics: new Metrics('t', { defaultMetrics: false }),
    requestedBy: 'wd-test',
    timeoutMs: 100,
    flattenTimeoutMs: 150,
    attempts: 3,
    backoffMs: 10,
  });
}

/** A responder that counts requests and never answers them. */
function silentResponder(subject: string): { count: () => number; stop: () => void } {
  let n = 0;
  const sub = nc.subscribe(subject, {
    callback: () => {
      n += 1;
    },
  });
  return { count: () => n, stop: () => sub.unsubscribe() };
}

it('sends a flatten once: after a timeout the executor may still be closing positions', async () => {
  const executor = silentResponder(commands.executorFlatten.subject);
  await nc.flush();
  const outcome = await sender().send('flatten', 'stale-1', 'test');
  executor.stop();
  expect(outcome).toMatchObject({ ok: false, outcome: 'timeout', attempts: 1 });
  expect(executor.count()).toBe(1);
});

it('retries a halt that timed out, up to its attempts, and takes the first answer', async () => {
  let n = 0;
  const sub = nc.subscribe(commands.executorHalt.subject, {
    callback: (_err, msg) => {
      n += 1;
      if (n < 2) return; // the first request goes unanswered
      msg.respond(
        encode(ExecutorHaltReply, {
          v: 1,
          ok: true,
          at: '2026-11-27T15:32:00.000Z',
          halt: { halted: true, since: '2026-11-27T15:32:00.000Z', reason: 'test', incidentId: 'stale-1' },
        }),
      );
    },
  });
  await nc.flush();
  const outcome = await sender().send('halt', 'stale-1', 'test');
  sub.unsubscribe();
  expect(outcome).toMatchObject({ ok: true, outcome: 'ok', attempts: 2 });
});

it('takes a reply that breaks its schema as final (bad_reply), and an ok: false one as a refusal', async () => {
  let n = 0;
  const sub = nc.subscribe(commands.gatewayReconnect.subject, {
    callback: (_err, msg) => {
      n += 1;
      msg.respond(
        n === 1
          ? JSON.stringify({ v: 1, ok: true })
          : encode(commands.gatewayReconnect.reply, {
              v: 1,
              ok: false,
              at: '2026-11-27T15:32:00.000Z',
              error: 'busy',
              state: 'backoff',
            }),
      );
    },
  });
  await nc.flush();
  expect(await sender().send('reconnect', 'stale-2', 'test')).toMatchObject({
    ok: false,
    outcome: 'bad_reply',
    attempts: 1,
    error: expect.stringMatching(/invalid reply on "cmd\.gateway\.reconnect"/),
  });
  expect(await sender().send('reconnect', 'stale-2', 'test')).toMatchObject({
    ok: false,
    outcome: 'rejected',
    attempts: 1,
    error: 'busy',
    reply: { state: 'backoff' },
  });
  sub.unsubscribe();
  expect(n).toBe(2);
});
