// The stream definitions of @vigil/contracts on a real nats-server: their owners create and update them,
// nobody purges them or deletes a message, and a service reading another's stream waits for it.
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { awaitStreams, ensureStreams, streamOwners, streams } from '@vigil/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogger } from './testing/log-capture.js';
import { startNats, type NatsServerHandle } from './testing/nats-server.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;
beforeAll(async () => {
  server = await startNats({ own: true });
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc?.close();
  await server?.cleanup();
});

describe('stream definitions', () => {
  it('refuse purge and message delete on every stream, and name one owner for each', () => {
    for (const def of Object.values(streams)) {
      expect(def, def.name).toMatchObject({ deny_delete: true, deny_purge: true });
      expect(Object.keys(streamOwners)).toContain(def.name);
    }
    expect(streamOwners).toEqual({
      BARS: 'market-gateway',
      SIGNALS: 'strategy',
      ORDERS: 'executor',
      ALERTS: 'watchdog',
    });
  });

  it('turn deny_delete and deny_purge on when the owner ensures a stream created without them, keeping its messages', async () => {
    const { deny_delete: _d, deny_purge: _p, ...before } = streams.orders;
    await jsm.streams.add(before);
    const js = jetstream(nc);
    for (let i = 0; i < 3; i++) await js.publish('executor.orders.upgrade-test', '{}');

    await ensureStreams(jsm, [streams.orders]);
    const info = await jsm.streams.info(streams.orders.name);
    expect(info.config).toMatchObject({ deny_delete: true, deny_purge: true });
    expect(info.state.messages).toBe(3);
    await expect(jsm.streams.purge(streams.orders.name)).rejects.toThrow(/purge not permitted/);
    await expect(jsm.streams.deleteMessage(streams.orders.name, 1)).rejects.toThrow(/delete not permitted/);
    // and nats-server refuses to turn them off again.
    await expect(jsm.streams.update(streams.orders.name, { ...streams.orders, deny_purge: false })).rejects.toThrow(
      /deny purge/,
    );
    expect((await jsm.streams.info(streams.orders.name)).state.messages).toBe(3);
  });
});

describe('ensureStreams replicas (JS_REPLICAS)', () => {
  it('reach nats-server: three copies refused by a single server, one by default', async () => {
    await expect(ensureStreams(jsm, [streams.bars], { replicas: 3 })).rejects.toThrow(/replicas > 1 not supported/);
    await ensureStreams(jsm, [streams.bars]);
    expect((await jsm.streams.info(streams.bars.name)).config.num_replicas).toBe(1);
  });
});

describe('awaitStreams', () => {
  it('waits, saying for which stream and whose it is, until its owner creates it', async () => {
    const { logger, lines } = captureLogger();
    let done = false;
    const waiting = awaitStreams(jsm, [streams.signals], { log: logger, intervalMs: 20 }).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(done).toBe(false);
    expect(
      lines()
        .filter((l) => l.level === 40)
        .map((l) => l.msg),
    ).toEqual(['waiting for stream SIGNALS: strategy creates it at its start']);

    await ensureStreams(jsm, [streams.signals]);
    await waiting;
    expect(lines().at(-1)).toMatchObject({ msg: 'stream SIGNALS is there', stream: 'SIGNALS', owner: 'strategy' });
    // It never created or changed the stream itself.
    expect((await jsm.streams.info(streams.signals.name)).config.subjects).toEqual(streams.signals.subjects);
  });

  it('returns at once, without a word, when the stream exists', async () => {
    const { logger, lines } = captureLogger();
    await awaitStreams(jsm, [streams.signals], { log: logger });
    expect(lines()).toEqual([]);
  });

  it('stops waiting when aborted', async () => {
    const stop = new AbortController();
    const waiting = awaitStreams(jsm, [streams.alerts], { intervalMs: 20, signal: stop.signal });
    setTimeout(() => stop.abort(new Error('stopping')), 50);
    await expect(waiting).rejects.toThrow('stopping');
    await expect(jsm.streams.info(streams.alerts.name)).rejects.toThrow(/not found/);
  });
});
