// KvJsonStore on a real nats-server: deleted and purged keys read as absent, unreadable values as a typed error.
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as z from 'zod';
import { KvJsonStore, KvValueInvalid, KvValueRefused } from './kv-json-store.js';
import { startNats, type NatsServerHandle } from './testing/nats-server.js';

const Marker = z.strictObject({
  id: z.string().min(1),
  n: z.int().nonnegative(),
  by: z.enum(['person', 'watchdog']).default('person'),
});

let server: NatsServerHandle;
let nc: NatsConnection;
let kv: KV;
let store: KvJsonStore<typeof Marker>;
beforeAll(async () => {
  server = await startNats({ own: true });
  nc = await connect({ servers: server.url });
  kv = await new Kvm(nc).create('kv_json_test', { history: 5 });
  store = new KvJsonStore(kv, Marker);
});
afterAll(async () => {
  await nc?.close();
  await server?.cleanup();
});

it('reads an absent key as null', async () => {
  expect(await store.get('absent')).toBeNull();
});

it('gives back what it stored, as the schema reads it', async () => {
  const revision = await store.put('round', { id: 'a', n: 1 });
  expect(revision).toBeGreaterThan(0);
  expect(await store.get('round')).toEqual({ id: 'a', n: 1, by: 'person' });
  expect((await kv.get('round'))?.json()).toEqual({ id: 'a', n: 1, by: 'person' });
});

it('reads a deleted key as null, and a value put after it again', async () => {
  await store.put('deleted', { id: 'b', n: 2 });
  await store.delete('deleted');
  expect((await kv.get('deleted'))?.operation).toBe('DEL');
  expect(await store.get('deleted')).toBeNull();
  await store.put('deleted', { id: 'c', n: 3 });
  expect(await store.get('deleted')).toMatchObject({ id: 'c' });
});

it('reads a purged key as null', async () => {
  await store.put('purged', { id: 'd', n: 4 });
  await kv.purge('purged');
  expect((await kv.get('purged'))?.operation).toBe('PURGE');
  expect(await store.get('purged')).toBeNull();
});

it('throws KvValueInvalid naming bucket, key and revision for a value that is not JSON', async () => {
  const revision = await kv.put('corrupt', 'not json');
  const err = await store.get('corrupt').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(KvValueInvalid);
  expect(err).toMatchObject({ bucket: 'kv_json_test', key: 'corrupt', revision, problem: 'not_json' });
  expect((err as Error).cause).toBeInstanceOf(SyntaxError);
  expect((err as Error).message).toMatch(
    /^KV bucket "kv_json_test" key "corrupt" \(revision \d+\) holds a value that is not JSON: .*delete the key/,
  );
});

it('throws KvValueInvalid for JSON that fails the schema (what nats-server writes when a request names the key as reply subject)', async () => {
  await kv.put('mismatch', JSON.stringify({ type: 'io.nats.jetstream.api.v1.account_info_response', memory: 0 }));
  const err = await store.get('mismatch').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(KvValueInvalid);
  expect(err).toMatchObject({ key: 'mismatch', problem: 'schema' });
  expect((err as Error).cause).toBeInstanceOf(z.ZodError);
  expect((err as KvValueInvalid).detail).toMatch(/id/);
});

it('refuses to put a value that fails the schema, leaving the key as it was', async () => {
  await store.put('refused', { id: 'e', n: 5 });
  const before = (await kv.get('refused'))?.revision;
  const err = await store.put('refused', { id: '', n: -1 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(KvValueRefused);
  expect(err).toMatchObject({ key: 'refused' });
  expect((err as Error).cause).toBeInstanceOf(z.ZodError);
  expect((await kv.get('refused'))?.revision).toBe(before);
  expect(await store.get('refused')).toMatchObject({ id: 'e', n: 5 });
});
