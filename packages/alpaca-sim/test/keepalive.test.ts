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
});
