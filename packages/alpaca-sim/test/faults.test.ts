import { WebSocket } from 'ws';
import { waitFor } from '@vigil/service-kit/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sim } from '../src/index.js';
import { KEY, RawClient, SECRET, control, fastSim, sleep } from './helpers.js';

let sim: Sim;
const clients: RawClient[] = [];
async function client(feed = 'iex'): Promise<RawClient> {
  const c = await RawClient.authed(sim, feed);
  clients.push(c);
  return c;
}
async function subscribedClient(): Promise<RawClient> {
  const c = await client();
  c.send({ action: 'subscribe', bars: ['SPY', 'AAPL'], trades: ['SPY'], updatedBars: ['SPY'] });
  await c.waitFor((f) => f.T === 'subscription');
  return c;
}
const inject = async (spec: Record<string, unknown>) => {
  const r = await control(sim, 'POST', '/sim/faults', spec);
  expect(r.status).toBe(201);
  return r.body;
};
function pong(ws: WebSocket, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    ws.once('pong', () => {
      clearTimeout(t);
      resolve(true);
    });
    ws.ping();
  });
}

beforeEach(async () => {
  sim = await fastSim({ symbols: ['SPY', 'AAPL'] });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await sim.close();
});

describe('connection faults on the wire', () => {
  it('drop: no close frame (1006), and the key is a zombie (406) until the grace ends', async () => {
    const c = await client();
    await inject({ kind: 'drop' });
    expect((await c.closed).code).toBe(1006);
    const retry = await RawClient.open(`${sim.wsUrl}/v2/iex`);
    clients.push(retry);
    retry.send({ action: 'auth', key: KEY, secret: SECRET });
    expect(await retry.waitFor((f) => f.T === 'error')).toMatchObject({ code: 406 });
    expect(sim.status().zombies).toHaveLength(1);
    await waitFor('the zombie sessions to be gone', () => (sim.status().zombies as unknown[]).length === 0);
    await client();
  });

  it('close: a clean close with the given code; kill_session frees the key at once', async () => {
    const c = await client();
    await inject({ kind: 'close', code: 4001, reason: 'maintenance' });
    expect(await c.closed).toEqual({ code: 4001, reason: 'maintenance' });
    await waitFor('every stream session to close', () => sim.stream.sessions.size === 0);
    const d = await client();
    await inject({ kind: 'kill_session', key: KEY });
    expect((await d.closed).code).toBe(1006);
    await waitFor('every stream session to close', () => sim.stream.sessions.size === 0);
    await client();
  });

  it('blackhole (freeze): socket open, no pongs, no data; stall: pongs but no data', async () => {
    const c = await subscribedClient();
    await c.waitFor((f) => f.T === 'b');
    await inject({ kind: 'freeze' });
    await sleep(100); // let frames already in flight land
    const before = c.frames.length;
    expect(await pong(c.ws, 300)).toBe(false);
    await sleep(300);
    expect(c.frames.length).toBe(before);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    await control(sim, 'DELETE', '/sim/faults?kind=blackhole');
    await c.waitFor((f) => f.T === 'b', 3000, before);
    await inject({ kind: 'stall', durationMs: 1500 });
    await sleep(100);
    const stalledAt = c.frames.length;
    expect(await pong(c.ws, 1000)).toBe(true);
    await sleep(250);
    expect(c.frames.length).toBe(stalledAt);
    await c.waitFor((f) => f.T === 'b', 3000, stalledAt);
  });

  it('handshake_hang leaves the upgrade unanswered; reject_upgrade answers 429 with Retry-After; refuse resets', async () => {
    await inject({ kind: 'handshake_hang', durationMs: 2000 });
    await expect(RawClient.open(`${sim.wsUrl}/v2/iex`, { handshakeTimeout: 300 })).rejects.toThrow(
      /handshake has timed out/,
    );
    await control(sim, 'DELETE', '/sim/faults');
    await inject({ kind: 'handshake-429', retryAfterSec: 7 });
    await expect(RawClient.open(`${sim.wsUrl}/v2/iex`)).rejects.toMatchObject({
      status: 429,
      headers: { 'retry-after': '7' },
    });
    await control(sim, 'DELETE', '/sim/faults');
    await inject({ kind: 'reject_upgrade', status: 500 });
    await expect(RawClient.open(`${sim.wsUrl}/v2/iex`)).rejects.toMatchObject({ status: 500 });
    await control(sim, 'DELETE', '/sim/faults');
    await inject({ kind: 'refuse' });
    await expect(RawClient.open(`${sim.wsUrl}/v2/iex`)).rejects.toThrow(/socket hang up|ECONNRESET/);
    await control(sim, 'DELETE', '/sim/faults');
    await client();
  });

  it('auth_fail answers 402; auth_silent never answers; conn_limit answers 406 for the next N auths', async () => {
    await inject({ kind: 'auth_fail', durationMs: 60_000 });
    await expect(RawClient.authed(sim)).rejects.toThrow(/"code":402/);
    await control(sim, 'DELETE', '/sim/faults');
    await inject({ kind: 'auth-silent' });
    const silent = await RawClient.open(`${sim.wsUrl}/v2/iex`);
    clients.push(silent);
    silent.send({ action: 'auth', key: KEY, secret: SECRET });
    await sleep(300);
    expect(silent.frames).toEqual([{ T: 'success', msg: 'connected' }]);
    silent.close();
    await control(sim, 'DELETE', '/sim/faults');
    await inject({ kind: 'conn-limit', count: 2 });
    await expect(RawClient.authed(sim)).rejects.toThrow(/"code":406/);
    await expect(RawClient.authed(sim)).rejects.toThrow(/"code":406/);
    await client();
    expect((sim.status().faults as { applied: Record<string, number> }).applied.conn_limit).toBe(2);
  });

  it('no_subscription_ack and partial_subscription_ack', async () => {
    const c = await client();
    await inject({ kind: 'no_subscription_ack', durationMs: 60_000 });
    c.send({ action: 'subscribe', bars: ['SPY'] });
    await sleep(200);
    expect(c.frames.some((f) => f.T === 'subscription')).toBe(false);
    await control(sim, 'DELETE', '/sim/faults');
    await inject({ kind: 'partial_subscription_ack', omit: ['AAPL'] });
    c.send({ action: 'subscribe', bars: ['AAPL'] });
    expect(await c.waitFor((f) => f.T === 'subscription')).toMatchObject({ bars: ['SPY'] });
    expect(sim.status().connections).toMatchObject([{ subscriptions: { bars: ['SPY', 'AAPL'] } }]);
  });

  it('unsubscribe silently forgets subscriptions', async () => {
    const c = await subscribedClient();
    await c.waitFor((f) => f.T === 'b');
    await inject({ kind: 'unsubscribe' });
    expect(sim.status().connections).toMatchObject([{ subscriptions: { bars: [], trades: [] } }]);
    await sleep(100);
    const mark = c.frames.length;
    await sleep(400);
    expect(c.frames.slice(mark).filter((f) => f.T === 'b' || f.T === 't')).toEqual([]);
  });
});

describe('data faults on the wire', () => {
  it('garbage and malformed_frames send undecodable or schema-breaking messages between data', async () => {
    const c = await subscribedClient();
    await inject({ kind: 'garbage' });
    await c.waitFor((f) => f.T === '__garbage__');
    await inject({ kind: 'malformed_frames', everyN: 1, durationMs: 60_000 });
    await c.waitFor((f) => f.T === '__non_array__');
    await c.waitFor((f) => f.o === 'NaN');
  });

  it('duplicate_bars sends each bar twice; out_of_order sends pairs newest first', async () => {
    const c = await subscribedClient();
    await inject({ kind: 'duplicate_bars' });
    let mark = c.frames.length;
    await c.waitFor((f) => f.T === 'b', 3000, mark);
    await waitFor(
      '3 SPY bars after the fault',
      () => c.frames.slice(mark).filter((f) => f.T === 'b' && f.S === 'SPY').length >= 3,
    );
    const dup = c.frames.slice(mark).filter((f) => f.T === 'b' && f.S === 'SPY');
    expect(dup.some((f, i) => i > 0 && JSON.stringify(f) === JSON.stringify(dup[i - 1]))).toBe(true);
    await control(sim, 'DELETE', '/sim/faults');
    await inject({ kind: 'out-of-order' });
    mark = c.frames.length;
    await waitFor(
      '3 SPY bars after the fault',
      () => c.frames.slice(mark).filter((f) => f.T === 'b' && f.S === 'SPY').length >= 3,
    );
    const ts = c.frames
      .slice(mark)
      .filter((f) => f.T === 'b' && f.S === 'SPY')
      .map((f) => f.t as string);
    expect(ts.some((t, i) => i > 0 && t < ts[i - 1]!)).toBe(true);
  });

  it('late_bars delays bars but not trades; updated_bars adds corrections; slow delays everything', async () => {
    const c = await subscribedClient();
    await inject({ kind: 'late_bars', delayMs: 1500 });
    const published = sim.emittedBars('SPY').length;
    await waitFor('the simulator to emit another SPY bar', () => sim.emittedBars('SPY').length > published);
    const t = sim.emittedBars('SPY').at(-1);
    expect(c.frames.some((f) => f.T === 'b' && f.S === 'SPY' && f.t === t)).toBe(false);
    await c.waitFor((f) => f.T === 'b' && f.t === t);
    await control(sim, 'DELETE', '/sim/faults');
    await inject({ kind: 'updated_bars' });
    const u = await c.waitFor((f) => f.T === 'u');
    const b = c.frames.find((f) => f.T === 'b' && f.S === u.S && f.t === u.t);
    expect(b).toBeDefined();
    expect(u.v).toBe((b!.v as number) + 100);
    // REST history holds the corrected bar from then on, as Alpaca's does.
    const headers = { 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET };
    const query = `symbols=${u.S}&timeframe=1Min&start=${encodeURIComponent(u.t as string)}&end=${encodeURIComponent(u.t as string)}`;
    const rest = (await (await fetch(`${sim.url}/v2/stocks/bars?${query}`, { headers })).json()) as {
      bars: Record<string, { v: number }[]>;
    };
    expect(rest.bars[u.S as string]?.[0]?.v).toBe(u.v);
    await control(sim, 'DELETE', '/sim/faults');
    await inject({ kind: 'slow', delayMs: 100 });
    const when = Date.now();
    c.send({ action: 'subscribe', quotes: ['SPY'] });
    await c.waitFor((f) => f.T === 'subscription' && (f.quotes as string[]).length === 1);
    expect(Date.now() - when).toBeGreaterThanOrEqual(90);
  });
});

describe('REST faults and control', () => {
  it('rest_slow delays, rest_error 429 carries Retry-After, and status counts faults', async () => {
    const headers = { 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET };
    await inject({ kind: 'rest_error', status: 429, retryAfterSec: 3, count: 1, scope: 'trading' });
    const limited = await fetch(`${sim.url}/v2/clock`, { headers });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    await inject({ kind: 'rest_slow', delayMs: 150, count: 1 });
    const t0 = Date.now();
    expect((await fetch(`${sim.url}/v2/clock`, { headers })).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    const status = (await control(sim, 'GET', '/sim/status')).body;
    expect(status.faults.injected).toMatchObject({ rest_error: 1, rest_slow: 1 });
    expect(status.faults.active).toEqual([]);
    expect((await control(sim, 'POST', '/sim/faults', { kind: 'bogus' })).status).toBe(422);
  });

  it('moves the clock: jump to a weekend closes the market and stops data; a rate limit answers 429', async () => {
    const c = await subscribedClient();
    const r = await control(sim, 'POST', '/sim/clock', { at: '2026-01-10T15:00:00Z' });
    expect(r.body).toMatchObject({ isOpen: false });
    await sleep(100);
    const mark = c.frames.length;
    await sleep(400);
    expect(c.frames.slice(mark).filter((f) => f.T === 'b' || f.T === 't')).toEqual([]);
    const limited = await fastSim({ restRateLimit: 2 });
    try {
      const headers = { 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET };
      for (let i = 0; i < 2; i++) expect((await fetch(`${limited.url}/v2/account`, { headers })).status).toBe(200);
      const third = await fetch(`${limited.url}/v2/account`, { headers });
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });

  it('runs a chaos schedule by simulated minute', async () => {
    const r = await control(sim, 'POST', '/sim/chaos', {
      schedule: [{ atMinute: 1, fault: 'stall', durationMinutes: 2 }],
    });
    expect(r.status).toBe(200);
    await waitFor(
      'the stall to be injected',
      () => (sim.status().faults as { injected: Record<string, number> }).injected.stall === 1,
    );
  });
});
