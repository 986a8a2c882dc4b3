import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogger } from '@vigil/service-kit/testing';
import { startSim, type Sim } from '../src/index.js';
import { KEY, SECRET, control, fastSim } from './helpers.js';

let sim: Sim;
let logs: ReturnType<typeof captureLogger>;
const headers = { 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET };
const get = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${sim.url}${path}`, { ...init, headers: { ...headers, ...(init.headers ?? {}) } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
};

beforeAll(async () => {
  logs = captureLogger();
  sim = await fastSim({ logger: logs.logger, clock: { start: '2026-01-06T15:00:00Z', msPerMinute: 60_000 } });
});
afterAll(() => sim.close());

describe('bad REST input gets Alpaca-style errors, never a crash', () => {
  it.each([
    ['/v2/stocks/bars?timeframe=1Min', 400, /symbols/],
    ['/v2/stocks/bars?symbols=SPY&timeframe=1Min&limit=0', 400, /limit/],
    ['/v2/stocks/bars?symbols=SPY&timeframe=1Min&limit=abc', 400, /limit/],
    ['/v2/stocks/bars?symbols=SPY&timeframe=1Min&start=yesterday', 400, /start/],
    ['/v2/stocks/bars?symbols=S%20PY&timeframe=1Min', 400, /symbol/],
    ['/v2/stocks/bars?symbols=SPY&timeframe=1Min&page_token=%%%', 400, /page token/],
    ['/v2/stocks/bars?symbols=SPY&timeframe=1Min&sort=sideways', 400, /sort/],
    ['/v2/calendar?start=soon', 400, /start/],
    ['/v2/orders?status=maybe', 422, /status/],
    ['/v2/nothing', 404, /not found/],
    ['/v2/positions/ZZZ', 404, /position does not exist/],
  ])('GET %s → %i', async (path, status, message) => {
    const r = await get(path);
    expect(r.status).toBe(status);
    expect(r.body.message).toMatch(message);
    expect(typeof r.body.code).toBe('number');
    expect(logs.lines().some((l) => l.msg === 'request refused' && l.status === status)).toBe(true);
  });

  it('rejects bad order bodies with 400/422/403 and oversized bodies with 413', async () => {
    const post = (body: string) =>
      get('/v2/orders', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
    expect((await post('{nope')).status).toBe(400);
    expect(
      (await post(JSON.stringify({ symbol: 'SPY', side: 'buy', type: 'market', time_in_force: 'day' }))).body.message,
    ).toMatch(/qty or notional/);
    expect(
      (await post(JSON.stringify({ symbol: 'SPY', side: 'hold', type: 'market', time_in_force: 'day', qty: '1' })))
        .status,
    ).toBe(422);
    expect(
      (await post(JSON.stringify({ symbol: 'SPY', side: 'sell', type: 'market', time_in_force: 'day', qty: '1' })))
        .status,
    ).toBe(403);
    expect(
      (await post(JSON.stringify({ symbol: 'SPY', side: 'buy', type: 'market', time_in_force: 'day', qty: '100000' })))
        .body.message,
    ).toMatch(/buying power/);
    expect((await post('x'.repeat(200_000))).status).toBe(413);
    expect((await get('/v2/account')).status).toBe(200);
  });

  it('rejects bad control requests with 400/422 and keeps running', async () => {
    expect((await control(sim, 'POST', '/sim/clock', { msPerMinute: 0 })).status).toBe(422);
    expect((await control(sim, 'POST', '/sim/clock', { at: 'noon' })).status).toBe(422);
    expect((await control(sim, 'POST', '/sim/faults', { kind: 'late_bars', delayMs: 'soon' })).body.message).toMatch(
      /invalid fault: delayMs/,
    );
    expect((await control(sim, 'GET', '/sim/nope')).status).toBe(404);
    const res = await fetch(`${sim.url}/sim/faults`, { method: 'POST', body: '{' });
    expect(res.status).toBe(400);
  });
});

describe('the control API and browsers', () => {
  /** A raw request, so the test can send the Host, Origin and Sec-Fetch-Site a browser or a rebinding page would. */
  const raw = (path: string, headers: Record<string, string>, body: string) =>
    new Promise<number>((resolve, reject) => {
      const u = new URL(sim.url);
      const req = request(
        { host: u.hostname, port: u.port, path, method: 'POST', headers: { 'content-type': 'text/plain', ...headers } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('refuses cross-origin, cross-site and rebound-name requests, and injects nothing', async () => {
    const host = new URL(sim.url).host;
    const fault = JSON.stringify({ kind: 'blackhole', durationMinutes: 1 });
    expect(await raw('/sim/faults', { origin: 'http://evil.example' }, fault)).toBe(403);
    expect(await raw('/sim/faults', { host: `evil.example:${new URL(sim.url).port}` }, fault)).toBe(403);
    expect(await raw('/sim/faults', { 'sec-fetch-site': 'cross-site' }, fault)).toBe(403);
    expect(sim.faults.list()).toEqual([]);
    // Its own page (same origin), curl and Node's fetch still work.
    expect(await raw('/sim/faults', { origin: `http://${host}`, 'sec-fetch-site': 'same-origin' }, fault)).toBe(201);
    sim.faults.clear();
  });
});

describe('determinism and the clock control', () => {
  it('serves identical history from two simulators with the same seed, and different with another seed', async () => {
    const opts = { seed: 42, clock: { start: '2026-01-06T16:00:00Z', msPerMinute: 60_000 } };
    const [a, b, c] = await Promise.all([startSim(opts), startSim(opts), startSim({ ...opts, seed: 43 })]);
    try {
      const q =
        '/v2/stocks/bars?symbols=SPY,AAPL&timeframe=1Min&start=2026-01-06T14:30:00Z&end=2026-01-06T15:30:00Z&limit=10000';
      const fetchBars = async (s: Sim) =>
        (
          (await (
            await fetch(`${s.url}${q}`, {
              headers: { 'APCA-API-KEY-ID': 'SIMKEY', 'APCA-API-SECRET-KEY': 'SIMSECRET' },
            })
          ).json()) as { bars: Record<string, unknown[]> }
        ).bars;
      const [ba, bb, bc] = await Promise.all([fetchBars(a), fetchBars(b), fetchBars(c)]);
      expect(ba).toEqual(bb);
      expect(ba).not.toEqual(bc);
      expect(ba.SPY).toHaveLength(61);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('jumps to the close and to the next open', async () => {
    // Paused, so the reported instants are exact.
    await control(sim, 'POST', '/sim/clock', { at: '2026-01-06T15:00:00Z', paused: true });
    const closed = await control(sim, 'POST', '/sim/clock', { to: 'close' });
    expect(closed.body).toMatchObject({ isOpen: false, nowNy: '2026-01-06T16:00:00.000-05:00' });
    const opened = await control(sim, 'POST', '/sim/clock', { to: 'next_open' });
    expect(opened.body).toMatchObject({ isOpen: true, nowNy: '2026-01-07T09:30:00.000-05:00' });
    expect((await get('/v2/clock')).body.is_open).toBe(true);
    expect(logs.lines().filter((l) => l.msg === 'clock changed')).toHaveLength(3);
  });
});

describe('the clock endpoints at a coarser resolution', () => {
  it('report the start of the current minute when asked to, while the market moves on', async () => {
    const coarse = await fastSim({
      clock: { start: '2026-01-06T15:00:30Z', msPerMinute: 60_000, reportResolutionMs: 60_000 },
    });
    try {
      const res = await fetch(`${coarse.url}/v2/clock`, { headers });
      const body = (await res.json()) as { timestamp: string };
      expect(Date.parse(body.timestamp)).toBe(Date.parse('2026-01-06T15:00:00Z'));
      expect(coarse.clock.now()).toBeGreaterThanOrEqual(Date.parse('2026-01-06T15:00:30Z'));
    } finally {
      await coarse.close();
    }
  });
});
