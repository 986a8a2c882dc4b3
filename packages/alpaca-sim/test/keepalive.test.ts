import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sim } from '../src/index.js';
import { KEY, SECRET, fastSim } from './helpers.js';

let sim: Sim;
afterEach(() => sim.close());

describe('server keepalive', () => {
  it('pings clients, and reaps one that stops answering after the grace, freeing its key', async () => {
    sim = await fastSim({ serverPingIntervalMs: 50, zombieGraceMs: 300 });
    // autoPong off: this client never answers the server's pings.
    const ws = new WebSocket(`${sim.wsUrl}/v2/iex`, { autoPong: false });
    let pings = 0;
    ws.on('ping', () => (pings += 1));
    ws.on('message', (data) => {
      if (String(data).includes('connected')) ws.send(JSON.stringify({ action: 'auth', key: KEY, secret: SECRET }));
    });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    expect(await closed).toBe(1006);
    expect(pings).toBeGreaterThan(1);
    expect(sim.stream.stats.reaped).toBe(1);
    expect(sim.status().zombies).toEqual([]);
  });

  it('keeps a client that answers every ping, even when the grace is shorter than the ping interval', async () => {
    // As on an accelerated market: a grace of 1.5 market minutes can be shorter than the real ping interval.
    sim = await fastSim({ serverPingIntervalMs: 200, zombieGraceMs: 50 });
    const ws = new WebSocket(`${sim.wsUrl}/v2/iex`);
    let pings = 0;
    ws.on('ping', () => (pings += 1));
    let closed = false;
    ws.on('close', () => (closed = true));
    ws.on('message', (data) => {
      if (String(data).includes('connected')) ws.send(JSON.stringify({ action: 'auth', key: KEY, secret: SECRET }));
    });
    while (pings < 5 && !closed) await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    expect(sim.stream.stats.reaped).toBe(0);
    ws.close();
  });
});
