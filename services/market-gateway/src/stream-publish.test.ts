import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { startNats, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readAck, StreamPublishError, StreamPublisher } from './stream-publish.js';

const encoder = new TextEncoder();
const bytes = (s: string) => encoder.encode(s);

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startNats({ own: true });
  nc = await connect({ servers: server.url, noAsyncTraces: true });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc?.close();
  await server?.cleanup();
});
beforeEach(async () => {
  await jsm.streams.delete('T').catch(() => {});
  await jsm.streams.add({ name: 'T', subjects: ['t.>'], duplicate_window: 60_000_000_000 });
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the publish to fail');
    },
    (err: unknown) => err as StreamPublishError,
  );

describe('StreamPublisher against a real JetStream', () => {
  it('stores a message under its msg id, and acks a second copy as a duplicate', async () => {
    const sp = new StreamPublisher({ nc, timeoutMs: 2000 });
    const first = await sp.publish('t.a', bytes('one'), 'id-1');
    const again = await sp.publish('t.a', bytes('one'), 'id-1');
    expect(first).toEqual({ stream: 'T', seq: 1, duplicate: false });
    expect(again).toEqual({ stream: 'T', seq: 1, duplicate: true });
    const stored = await jsm.streams.getMessage('T', { seq: 1 });
    expect(stored?.header?.get('Nats-Msg-Id')).toBe('id-1');
    expect((await jsm.streams.info('T')).state.messages).toBe(1);
    expect(sp.inFlight).toBe(0);
    sp.close();
  });

  it('matches each ack to its own publish when many are out at once', async () => {
    const sp = new StreamPublisher({ nc, timeoutMs: 5000 });
    const acks = await Promise.all(
      Array.from({ length: 500 }, (_, i) => sp.publish(`t.m${i % 7}`, bytes(String(i)), `m-${i}`)),
    );
    for (const [i, ack] of acks.entries()) {
      const m = await jsm.streams.getMessage('T', { seq: ack.seq });
      expect(m?.header?.get('Nats-Msg-Id')).toBe(`m-${i}`);
    }
    expect(new Set(acks.map((a) => a.seq)).size).toBe(500);
    sp.close();
  });

  it('says no stream takes the subject when none does', async () => {
    const sp = new StreamPublisher({ nc, timeoutMs: 2000 });
    const err = await failure(sp.publish('nowhere.a', bytes('x'), 'id-x'));
    expect(err).toBeInstanceOf(StreamPublishError);
    expect(err.kind).toBe('no_stream');
    expect(err.message).toMatch(/nowhere\.a/);
    sp.close();
  });

  it('fails a publish nobody acks after its timeout, and a late ack for it changes nothing', async () => {
    // A plain subscriber takes the subject and holds the reply: no ack comes in time.
    const held: string[] = [];
    const sub = nc.subscribe('silent.a', {
      callback: (_e, m) => {
        if (m.reply) held.push(m.reply);
      },
    });
    await nc.flush();
    const sp = new StreamPublisher({ nc, timeoutMs: 150 });
    const err = await failure(sp.publish('silent.a', bytes('x'), 'id-s'));
    expect(err.kind).toBe('timeout');
    expect(sp.inFlight).toBe(0);
    nc.publish(held[0]!, bytes('{"stream":"T","seq":9}'));
    await nc.flush();
    expect(sp.inFlight).toBe(0);
    const next = await sp.publish('t.after', bytes('y'), 'id-after');
    expect(next.duplicate).toBe(false);
    sub.unsubscribe();
    sp.close();
  });

  it('fails what is in flight on demand, and everything once closed', async () => {
    const sub = nc.subscribe('silent.b', { callback: () => {} });
    await nc.flush();
    const sp = new StreamPublisher({ nc, timeoutMs: 60_000 });
    const waiting = failure(sp.publish('silent.b', bytes('x'), 'id-w'));
    expect(sp.inFlight).toBe(1);
    const reason = new Error('connection replaced');
    sp.failInFlight(reason);
    expect(await waiting).toBe(reason);
    const lastOne = failure(sp.publish('silent.b', bytes('x'), 'id-w2'));
    sp.close();
    expect((await lastOne).kind).toBe('closed');
    expect((await failure(sp.publish('t.a', bytes('x'), 'id-c'))).kind).toBe('closed');
    sub.unsubscribe();
  });
});

describe('StreamPublisher under NATS permissions', () => {
  // As infra/nats/auth.conf has it: the gateway may subscribe to its own inboxes only.
  const auth = `
authorization {
  users = [
    { user: "gw", password: "pw", permissions: {
        publish: { allow: ["t.>", "$JS.API.>"] }
        subscribe: { allow: ["_INBOX.gw.>"] } } }
  ]
}`;
  let authServer: NatsServerHandle;
  let gw: NatsConnection;
  beforeAll(async () => {
    authServer = await startNats({ own: true, extraConfig: auth });
    gw = await connect({ servers: authServer.url, user: 'gw', pass: 'pw', inboxPrefix: '_INBOX.gw' });
    const m = await jetstreamManager(gw);
    await m.streams.add({ name: 'T', subjects: ['t.>'] });
  });
  afterAll(async () => {
    await gw?.close();
    await authServer?.cleanup();
  });

  it("hears its acks under the connection's inbox prefix, which its user may subscribe to", async () => {
    const sp = new StreamPublisher({ nc: gw, timeoutMs: 2000 });
    expect((await sp.publish('t.a', bytes('x'), 'p-1')).duplicate).toBe(false);
    sp.close();
  });

  it('fails at once, saying why, when its user may not subscribe to where the acks would come', async () => {
    // Connected without the user's inbox prefix: nats.js's _INBOX, which this user may not subscribe to.
    const stray = await connect({ servers: authServer.url, user: 'gw', pass: 'pw' });
    const sp = new StreamPublisher({ nc: stray, timeoutMs: 60_000 });
    const err = await failure(sp.publish('t.a', bytes('x'), 'p-2'));
    expect(err.kind).toBe('failed');
    expect(err.message).toMatch(/_INBOX\..*[Pp]ermission/);
    const later = await failure(sp.publish('t.a', bytes('x'), 'p-3'));
    expect(later).toBe(err);
    sp.close();
    await stray.close();
  });
});

describe('readAck', () => {
  const msg = (body: string, status?: number) => {
    const h = status ? headers(status, 'No Responders') : undefined;
    return { data: bytes(body), headers: h };
  };

  it('reads a PubAck, duplicate or not', () => {
    expect(readAck(msg('{"stream":"BARS","seq":7}'), 's')).toEqual({ stream: 'BARS', seq: 7, duplicate: false });
    expect(readAck(msg('{"stream":"BARS","seq":7,"duplicate":true}'), 's')).toEqual({
      stream: 'BARS',
      seq: 7,
      duplicate: true,
    });
  });

  it('turns a refusal, a no-responders status and a malformed answer into errors that say which', () => {
    const refused = readAck(
      msg('{"error":{"code":400,"err_code":10060,"description":"expected stream does not match"}}'),
      'md.bars.1m.SPY',
    );
    expect(refused).toBeInstanceOf(StreamPublishError);
    expect((refused as StreamPublishError).kind).toBe('rejected');
    expect((refused as StreamPublishError).message).toMatch(/md\.bars\.1m\.SPY.*expected stream does not match.*10060/);
    expect((readAck(msg('', 503), 's') as StreamPublishError).kind).toBe('no_stream');
    for (const bad of ['not json', 'null', '{"stream":"","seq":1}', '{"stream":"B"}', '[]'])
      expect((readAck(msg(bad), 's') as StreamPublishError).kind, bad).toBe('rejected');
  });
});
