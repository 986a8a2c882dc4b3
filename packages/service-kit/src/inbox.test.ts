// Replies on the bus: each user gets its replies on its own inbox prefix (`_INBOX.<user>`), the only one its
// NATS permissions let it subscribe to, and a command service answers only requests whose reply is an inbox.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { addCommandService, commandEndpoint } from './command-service.js';
import { baseConfig, parseConfig } from './config.js';
import { NatsConnectError } from './errors.js';
import { Metrics } from './metrics.js';
import { connectNats, inboxPrefixOf, natsInboxPrefix } from './nats.js';
import { captureLogger } from './testing/log-capture.js';
import { startNats, type NatsServerHandle } from './testing/nats-server.js';

// `svc-a` may subscribe only to its own inboxes; `caller` asks it, and sees replies only on its own.
const auth = `
authorization {
  users = [
    { user: "svc-a", password: "pa", permissions: {
        publish: { allow: ["$JS.API.INFO", "test.>", "_INBOX.caller.>"] }
        subscribe: { allow: ["test.>", "_INBOX.svc-a.>"] } } }
    { user: "caller", password: "pc", permissions: {
        publish: { allow: ["test.>"] }
        subscribe: { allow: ["_INBOX.caller.>"] } } }
  ]
}`;

let server: NatsServerHandle;
const closing: NatsConnection[] = [];
beforeAll(async () => {
  server = await startNats({ own: true, extraConfig: auth });
});
afterAll(async () => {
  for (const nc of closing) await nc.close();
  await server?.cleanup();
});

const metrics = () => new Metrics('inbox', { defaultMetrics: false });

describe('inbox prefixes', () => {
  it("are _INBOX.<user> for a user, the override when set, and nats.js's default without a user", () => {
    expect(natsInboxPrefix('market-gateway')).toBe('_INBOX.market-gateway');
    expect(natsInboxPrefix('ops', '_INBOX.ops-alice')).toBe('_INBOX.ops-alice');
    expect(natsInboxPrefix(undefined)).toBeUndefined();
    expect(() => natsInboxPrefix('two words')).toThrow(NatsConnectError);
    expect(() => natsInboxPrefix('any>')).toThrow(/NATS_INBOX_PREFIX/);
  });

  it('NATS_INBOX_PREFIX is optional and must be an _INBOX prefix', () => {
    const schema = z.object(baseConfig);
    expect(parseConfig(schema, {}).NATS_INBOX_PREFIX).toBeUndefined();
    expect(parseConfig(schema, { NATS_INBOX_PREFIX: '_INBOX.ops' }).NATS_INBOX_PREFIX).toBe('_INBOX.ops');
    for (const bad of ['$KV.executor_state', '_INBOX.>', '_INBOX.a b', 'inbox'])
      expect(() => parseConfig(schema, { NATS_INBOX_PREFIX: bad }), bad).toThrow(/NATS_INBOX_PREFIX/);
  });

  it('connectNats as a user gets its replies and JetStream answers on _INBOX.<user>, the only inboxes it may subscribe to', async () => {
    const { logger, lines } = captureLogger();
    const svc = await connectNats({
      url: server.url,
      name: 'inbox-test',
      user: 'svc-a',
      pass: 'pa',
      logger,
      metrics: metrics(),
    });
    closing.push(svc);
    expect(inboxPrefixOf(svc)).toBe('_INBOX.svc-a');
    // Its own JetStream request is answered on _INBOX.svc-a.… (with nats.js's _INBOX it would be refused).
    expect(await (await jetstreamManager(svc)).getAccountInfo()).toMatchObject({ streams: expect.any(Number) });

    // It answers `caller`, whose replies come on _INBOX.caller.…, where svc-a may publish.
    svc.subscribe('test.echo', { callback: (_e, m) => void m.respond(m.data) });
    await svc.flush();
    const caller = await connect({
      servers: server.url,
      user: 'caller',
      pass: 'pc',
      inboxPrefix: natsInboxPrefix('caller'),
    });
    closing.push(caller);
    expect(inboxPrefixOf(caller)).toBe('_INBOX.caller');
    const plain = await connect({ servers: server.url, user: 'caller', pass: 'pc' });
    closing.push(plain);
    expect(inboxPrefixOf(plain)).toBeUndefined();
    expect((await caller.request('test.echo', 'hi', { timeout: 2_000 })).string()).toBe('hi');
    expect(lines().filter((l) => /violation/i.test(JSON.stringify(l)))).toEqual([]);
  });
});

describe('addCommandService', () => {
  it('answers requests on an inbox, and drops unanswered, without acting, one whose reply is anything else', async () => {
    // A server without users: every subject is allowed, so only the service itself keeps a reply in an inbox.
    const open = await startNats({ own: true });
    try {
      const svcNc = await connect({ servers: open.url });
      const client = await connect({ servers: open.url });
      const { logger, lines } = captureLogger();
      const m = metrics();
      let handled = 0;
      const poke = {
        subject: 'cmd.guarded.poke',
        request: z.strictObject({}),
        reply: z.strictObject({ v: z.literal(1), ok: z.boolean() }),
      };
      await addCommandService({
        nc: svcNc,
        name: 'guarded',
        version: '1.0.0',
        description: 'test',
        endpoints: [
          commandEndpoint(poke, {
            handle: async () => {
              handled++;
              return { v: 1, ok: true };
            },
            invalid: () => ({ v: 1, ok: false }),
          }),
        ],
        logger,
        metrics: m,
      });
      const stolen: string[] = [];
      client.subscribe('victim.>', { callback: (_e, msg) => void stolen.push(`${msg.subject} ${msg.string()}`) });
      await client.flush();

      const targets = ['victim.kv', '$KV.victim.halt', '$JS.API.STREAM.PURGE.VICTIM'];
      const requests = ['cmd.guarded.poke', '$SRV.PING', '$SRV.INFO.guarded', '$SRV.STATS.guarded'];
      for (const subject of requests) for (const reply of targets) client.publish(subject, '{}', { reply });
      // Then one request as a client makes it, on an inbox: answered, so the ones before it were seen.
      expect((await client.request('cmd.guarded.poke', '{}', { timeout: 2_000 })).json()).toEqual({ v: 1, ok: true });
      await client.flush();
      await new Promise((r) => setTimeout(r, 100));

      expect(stolen).toEqual([]);
      expect(handled).toBe(1);
      const dropped = lines().filter((l) => String(l.msg).startsWith('request dropped unanswered'));
      expect(dropped).toHaveLength(requests.length * targets.length);
      expect(dropped[0]).toMatchObject({ subject: 'cmd.guarded.poke', reply: 'victim.kv' });
      expect(await m.registry.metrics()).toMatch(
        /command_requests_refused_total\{subject="cmd\.guarded\.poke",service="inbox"\} 3/,
      );
      // The framework's own requests still work: `nats micro ls` equivalent.
      expect((await client.request('$SRV.PING.guarded', '', { timeout: 2_000 })).json()).toMatchObject({
        name: 'guarded',
      });
      await svcNc.close();
      await client.close();
    } finally {
      await open.cleanup();
    }
  });
});
