import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureLogger, waitFor } from '@vigil/service-kit/testing';
import type { Sim } from '../src/index.js';
import { KEY, RawClient, SECRET, fastSim } from './helpers.js';

let sim: Sim;
let logs: ReturnType<typeof captureLogger>;
const clients: RawClient[] = [];
const open = async (c: Promise<RawClient>) => {
  const client = await c;
  clients.push(client);
  return client;
};

beforeEach(async () => {
  logs = captureLogger();
  sim = await fastSim({ logger: logs.logger, authTimeoutMs: 300 });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await sim.close();
});

describe('stream protocol (raw JSON client)', () => {
  it('greets, authenticates by message, subscribes and streams bars in JSON text frames', async () => {
    const c = await open(RawClient.open(`${sim.wsUrl}/v2/iex`));
    expect(await c.waitFor(() => true)).toEqual({ T: 'success', msg: 'connected' });
    c.send({ action: 'auth', key: KEY, secret: SECRET });
    await c.waitFor((f) => f.msg === 'authenticated');
    c.send({ action: 'subscribe', bars: ['SPY'], trades: ['SPY'] });
    const ack = await c.waitFor((f) => f.T === 'subscription');
    expect(ack).toEqual({
      T: 'subscription',
      trades: ['SPY'],
      quotes: [],
      bars: ['SPY'],
      updatedBars: [],
      dailyBars: [],
      statuses: [],
      lulds: [],
      imbalances: [],
      corrections: ['SPY'],
      cancelErrors: ['SPY'],
    });
    const bar = await c.waitFor((f) => f.T === 'b');
    expect(Object.keys(bar).sort()).toEqual(['S', 'T', 'c', 'h', 'l', 'n', 'o', 't', 'v', 'vw']);
    expect(bar.t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/);
    await c.waitFor((f) => f.T === 't' && f.S === 'SPY');
    expect(c.rawMessages.every((m) => !m.isBinary)).toBe(true);
  });

  it('computes quotes and daily bars once a session subscribes to them, and sends them', async () => {
    const c = await open(RawClient.authed(sim));
    c.send({ action: 'subscribe', bars: ['SPY'], quotes: ['SPY'], dailyBars: ['SPY'] });
    await c.waitFor((f) => f.T === 'q' && f.S === 'SPY');
    const daily = await c.waitFor((f) => f.T === 'd' && f.S === 'SPY');
    expect(daily.t).toMatch(/T0[45]:00:00Z$/);
  });

  it('answers every protocol error with its code and never crashes', async () => {
    const c = await open(RawClient.open(`${sim.wsUrl}/v2/sip`));
    c.send({ action: 'subscribe', bars: ['SPY'] });
    expect(await c.waitFor((f) => f.T === 'error')).toEqual({ T: 'error', code: 401, msg: 'not authenticated' });
    c.ws.send('{not json');
    await c.waitFor((f) => f.code === 400);
    c.send({ action: 'dance' });
    c.send({ action: 'subscribe', bars: 'SPY' });
    c.send({ action: 'auth', key: KEY, secret: SECRET });
    await c.waitFor((f) => f.msg === 'authenticated');
    expect(c.frames.filter((f) => f.code === 400)).toHaveLength(3);
    c.send({ action: 'auth', key: KEY, secret: SECRET });
    expect(await c.waitFor((f) => f.code === 403)).toEqual({ T: 'error', code: 403, msg: 'already authenticated' });
    c.ws.send(Buffer.alloc(2 << 20, 0x41));
    expect((await c.closed).code).toBe(1009);
    expect(logs.lines().some((l) => l.msg === 'stream client error: undecodable client frame')).toBe(true);
    expect(logs.lines().some((l) => l.msg === 'stream client violated the WebSocket protocol: closed')).toBe(true);
    // The server still serves new clients once it has seen the close.
    await waitFor('every stream session to close', () => sim.stream.sessions.size === 0);
    await open(RawClient.authed(sim));
  });

  it('closes with 402 on bad credentials and 404 when no auth arrives in time', async () => {
    const bad = await open(RawClient.open(`${sim.wsUrl}/v2/iex`));
    bad.send({ action: 'auth', key: KEY, secret: 'wrong' });
    expect(await bad.waitFor((f) => f.T === 'error')).toEqual({ T: 'error', code: 402, msg: 'auth failed' });
    await bad.closed;
    const idle = await open(RawClient.open(`${sim.wsUrl}/v2/iex`));
    expect(await idle.waitFor((f) => f.T === 'error')).toEqual({ T: 'error', code: 404, msg: 'auth timeout' });
    await idle.closed;
  });

  it('allows one connection per key: the second gets 406; a clean close frees the key at once', async () => {
    const first = await open(RawClient.authed(sim));
    const second = await open(RawClient.open(`${sim.wsUrl}/v2/iex`));
    second.send({ action: 'auth', key: KEY, secret: SECRET });
    expect(await second.waitFor((f) => f.T === 'error')).toEqual({
      T: 'error',
      code: 406,
      msg: 'connection limit exceeded',
    });
    await second.closed;
    first.ws.close(1000);
    await first.closed;
    await waitFor('every stream session to close', () => sim.stream.sessions.size === 0);
    await open(RawClient.authed(sim));
  });

  it('authenticates from upgrade headers and speaks msgpack when asked', async () => {
    const c = await open(
      RawClient.open(`${sim.wsUrl}/v2/iex`, {
        msgpack: true,
        headers: { 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET },
      }),
    );
    await c.waitFor((f) => f.msg === 'authenticated');
    c.send({ action: 'subscribe', bars: ['*'] });
    const bar = await c.waitFor((f) => f.T === 'b');
    expect(bar.t).toBeInstanceOf(Date);
    expect(c.rawMessages.every((m) => m.isBinary)).toBe(true);
  });

  it('refuses unknown paths with HTTP 404', async () => {
    await expect(RawClient.open(`${sim.wsUrl}/v1beta3/crypto/us`)).rejects.toMatchObject({ status: 404 });
  });
});
