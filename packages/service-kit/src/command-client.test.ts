// Both ends of a command, from one spec, against a real nats-server: addCommandService decodes the request and
// validates the reply, requestCommand validates the reply and tells each failure apart by its error class.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ContractError, type CommandSpec } from '@vigil/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  CommandBadReply,
  CommandNoResponders,
  CommandServiceError,
  CommandTimeout,
  requestCommand,
} from './command-client.js';
import { addCommandService, commandEndpoint, type Service } from './command-service.js';
import { Metrics } from './metrics.js';
import { captureLogger } from './testing/log-capture.js';
import { startNats, type NatsServerHandle } from './testing/nats-server.js';

const echo = {
  subject: 'cmd.test.echo',
  request: z.strictObject({ v: z.literal(1), text: z.string().min(1), loud: z.boolean().default(false) }),
  reply: z.strictObject({ v: z.literal(1), ok: z.boolean(), error: z.string().optional(), text: z.string() }),
} as const satisfies CommandSpec;

let server: NatsServerHandle;
let svcNc: NatsConnection;
let nc: NatsConnection;
let service: Service;
const { logger, lines } = captureLogger();
const metrics = new Metrics('cmdtest', { defaultMetrics: false });
/** What `handle` does next: answer, refuse, throw, or return a reply that breaks the schema. */
let behaviour: 'answer' | 'refuse' | 'throw' | 'break' = 'answer';
const seen: z.output<typeof echo.request>[] = [];

beforeAll(async () => {
  server = await startNats();
  svcNc = await connect({ servers: server.url });
  nc = await connect({ servers: server.url });
  service = await addCommandService({
    nc: svcNc,
    name: 'echo',
    version: '1.0.0',
    description: 'test',
    logger,
    metrics,
    endpoints: [
      commandEndpoint(echo, {
        handle: async (request) => {
          seen.push(request);
          if (behaviour === 'throw') throw new Error('the echo chamber is closed');
          if (behaviour === 'break') return { v: 1, ok: true, text: 42 as unknown as string };
          if (behaviour === 'refuse') return { v: 1, ok: false, error: 'not today', text: '' };
          return { v: 1, ok: true, text: request.loud ? request.text.toUpperCase() : request.text };
        },
        invalid: (error) => ({ v: 1, ok: false, error, text: '' }),
      }),
    ],
  });
});
afterAll(async () => {
  await service?.stop();
  await nc?.close();
  await svcNc?.close();
  await server?.cleanup();
});

const counted = async (result: string) =>
  Number(
    (await metrics.registry.metrics()).match(
      new RegExp(`commands_total\\{command="echo",result="${result}"[^}]*\\} (\\d+)`),
    )?.[1] ?? 0,
  );

describe('a command from its spec', () => {
  it('round-trips: the handler gets the decoded request (defaults applied), the client the decoded reply', async () => {
    behaviour = 'answer';
    expect(await requestCommand(nc, echo, { v: 1, text: 'hi' }, { timeoutMs: 2_000 })).toEqual({
      v: 1,
      ok: true,
      text: 'hi',
    });
    expect(await requestCommand(nc, echo, { v: 1, text: 'hi', loud: true }, { timeoutMs: 2_000 })).toEqual({
      v: 1,
      ok: true,
      text: 'HI',
    });
    expect(seen.slice(-2)).toEqual([
      { v: 1, text: 'hi', loud: false },
      { v: 1, text: 'hi', loud: true },
    ]);
    // The service answers `nats micro` under its name, with the spec's subject as the endpoint.
    const info = (await nc.request('$SRV.INFO.echo', '', { timeout: 2_000 })).json<{
      endpoints: { name: string; subject: string }[];
    }>();
    expect(info.endpoints).toEqual([expect.objectContaining({ name: 'echo', subject: 'cmd.test.echo' })]);
  });

  it('returns a refusal (ok: false) as an answer, and counts it as an error', async () => {
    behaviour = 'refuse';
    const before = await counted('error');
    expect(await requestCommand(nc, echo, { v: 1, text: 'hi' }, { timeoutMs: 2_000 })).toEqual({
      v: 1,
      ok: false,
      error: 'not today',
      text: '',
    });
    expect(await counted('error')).toBe(before + 1);
  });

  it("answers a bad request with the endpoint's ok: false reply naming the problem, logged and counted, without calling the handler", async () => {
    behaviour = 'answer';
    const handled = seen.length;
    const before = await counted('error');
    for (const bad of ['{"v":1}', 'not json', '{"v":1,"text":"hi","surprise":1}']) {
      const reply = (await nc.request(echo.subject, bad, { timeout: 2_000 })).json<{ ok: boolean; error: string }>();
      expect(reply, bad).toEqual({
        v: 1,
        ok: false,
        error: expect.stringMatching(/invalid message on "cmd\.test\.echo"/),
        text: '',
      });
    }
    expect(seen).toHaveLength(handled);
    expect(await counted('error')).toBe(before + 3);
    expect(lines().filter((l) => l.msg === 'echo request refused: it does not match its schema')).toHaveLength(3);
    // And the service still answers.
    expect(await requestCommand(nc, echo, { v: 1, text: 'still here' }, { timeoutMs: 2_000 })).toMatchObject({
      ok: true,
    });
  });

  it('refuses to send a request that breaks the spec', async () => {
    await expect(requestCommand(nc, echo, { v: 1, text: '' }, { timeoutMs: 2_000 })).rejects.toThrow(ContractError);
  });

  it('answers a handler that throws, or returns a reply that breaks the spec, with a service error: CommandServiceError', async () => {
    behaviour = 'throw';
    const thrown = await requestCommand(nc, echo, { v: 1, text: 'hi' }, { timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(CommandServiceError);
    expect(thrown).toMatchObject({
      subject: echo.subject,
      code: 500,
      message: expect.stringMatching(/the echo chamber is closed/),
      cause: expect.any(Error),
    });
    behaviour = 'break';
    const broken = await requestCommand(nc, echo, { v: 1, text: 'hi' }, { timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(CommandServiceError);
    expect((broken as Error).message).toMatch(/refusing to send an invalid/);
    behaviour = 'answer';
  });
});

describe('requestCommand failures', () => {
  const other = { ...echo, subject: 'cmd.test.other' };

  it('rejects a reply that breaks the spec: CommandBadReply, with the DecodeError as cause', async () => {
    const sub = nc.subscribe(other.subject, {
      callback: (_e, m) => void m.respond(JSON.stringify({ v: 1, ok: true, text: 7 })),
    });
    await nc.flush();
    const err = await requestCommand(nc, other, { v: 1, text: 'hi' }, { timeoutMs: 2_000 }).catch((e: unknown) => e);
    sub.unsubscribe();
    expect(err).toBeInstanceOf(CommandBadReply);
    expect(err).toMatchObject({
      subject: other.subject,
      message: expect.stringMatching(/invalid reply on "cmd\.test\.other".*text/),
      cause: expect.objectContaining({ name: 'DecodeError' }),
    });
  });

  it('times out on a responder that never answers: CommandTimeout', async () => {
    const sub = nc.subscribe(other.subject, { callback: () => {} });
    await nc.flush();
    const err = await requestCommand(nc, other, { v: 1, text: 'hi' }, { timeoutMs: 200 }).catch((e: unknown) => e);
    sub.unsubscribe();
    expect(err).toBeInstanceOf(CommandTimeout);
    expect(err).toMatchObject({
      subject: other.subject,
      message: 'no reply on cmd.test.other within 200 ms',
      cause: expect.any(Error),
    });
  });

  it('says nobody answers when no service listens: CommandNoResponders', async () => {
    const err = await requestCommand(nc, other, { v: 1, text: 'hi' }, { timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandNoResponders);
    expect(err).toMatchObject({
      subject: other.subject,
      message: 'nobody answers cmd.test.other',
      cause: expect.any(Error),
    });
  });
});
