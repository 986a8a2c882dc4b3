import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isConsumerNotFound,
  isNoMessageFound,
  isNoResponders,
  isPermissionViolation,
  isStreamNotFound,
  isTimeout,
} from './nats-errors.js';
import { startNats, type NatsServerHandle } from './testing/nats-server.js';

// One user who may do everything but publish or subscribe under `forbidden.>`.
const auth = `authorization {
  users: [ { user: "tester", password: "tester", permissions: { publish: { deny: ["forbidden.>"] }, subscribe: { deny: ["forbidden.>"] } } } ]
}`;

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;
beforeAll(async () => {
  server = await startNats({ own: true, extraConfig: auth });
  nc = await connect({ servers: server.url, user: 'tester', pass: 'tester' });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'ERRS', subjects: ['errs.>'] });
});
afterAll(async () => {
  await nc?.close();
  await server?.cleanup();
});

const failure = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );

const predicates = {
  isStreamNotFound,
  isConsumerNotFound,
  isNoMessageFound,
  isNoResponders,
  isTimeout,
  isPermissionViolation,
};
/** Which predicates hold for `err`: exactly one for each error the server produces. */
const matching = (err: unknown) =>
  Object.entries(predicates)
    .filter(([, p]) => p(err))
    .map(([name]) => name);

describe('NATS and JetStream error predicates, against a real nats-server', () => {
  it('tells a missing stream from a missing consumer (both say "not found")', async () => {
    const noStream = await failure(jsm.streams.info('NOPE'));
    expect(matching(noStream)).toEqual(['isStreamNotFound']);
    const noConsumer = await failure(jsm.consumers.info('ERRS', 'nope'));
    expect(matching(noConsumer)).toEqual(['isConsumerNotFound']);
    // A consumer looked up on a missing stream is a missing stream.
    expect(matching(await failure(jsm.consumers.info('NOPE', 'nope')))).toEqual(['isStreamNotFound']);
  });

  it('recognises a stream without a matching message', async () => {
    // jsm.streams.getMessage answers null for it; its request path (nats.js's internal _request) throws it.
    const api = jsm as unknown as { _request(subject: string, body: unknown): Promise<unknown> };
    const err = await failure(api._request('$JS.API.STREAM.MSG.GET.ERRS', { last_by_subj: 'errs.none' }));
    expect(matching(err)).toEqual(['isNoMessageFound']);
    expect(await jsm.streams.getMessage('ERRS', { last_by_subj: 'errs.none' })).toBeNull();
  });

  it('recognises no responders', async () => {
    const err = await failure(nc.request('req.nobody', new Uint8Array(), { timeout: 2_000 }));
    expect(matching(err)).toEqual(['isNoResponders']);
  });

  it('recognises a timeout', async () => {
    const sub = nc.subscribe('req.silent');
    try {
      const err = await failure(nc.request('req.silent', new Uint8Array(), { timeout: 200 }));
      expect(matching(err)).toEqual(['isTimeout']);
    } finally {
      sub.unsubscribe();
    }
  });

  it('recognises a permission violation', async () => {
    const err = await new Promise<unknown>((resolve) =>
      nc.subscribe('forbidden.x', {
        callback: (e) => {
          if (e) resolve(e);
        },
      }),
    );
    expect(matching(err)).toEqual(['isPermissionViolation']);
  });

  it('matches nothing else', () => {
    for (const err of [new Error('stream not found'), new Error('timeout'), 'no responders', null, undefined])
      expect(matching(err)).toEqual([]);
  });
});
