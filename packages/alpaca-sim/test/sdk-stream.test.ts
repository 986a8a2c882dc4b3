import { Alpaca, type streaming } from '@alpacahq/alpaca-trade-api';
import { waitFor } from '@vigil/service-kit/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sim } from '../src/index.js';
import { KEY, SECRET, control, fastSim } from './helpers.js';

let sim: Sim;
let stream: streaming.StockDataStream | undefined;

beforeEach(async () => {
  sim = await fastSim({ symbols: ['SPY', 'AAPL', 'THIN'], sparseSymbols: ['THIN'] });
});
afterEach(async () => {
  stream?.disconnect();
  await sim.close();
});

function sdkStream(): streaming.StockDataStream {
  return new Alpaca({ keyId: KEY, secret: SECRET }).marketData.stockStream({
    feed: 'iex',
    url: `${sim.wsUrl}/v2/iex`,
    initialReconnectMs: 50,
    maxReconnectMs: 200,
    maxReconnectAttempts: 50,
    pingIntervalMs: 0,
  });
}

describe('official SDK StockDataStream (msgpack) against the simulator', () => {
  it('authenticates, subscribes and receives bars exactly once, in order, matching what the market published', async () => {
    stream = sdkStream();
    const bars: streaming.StreamBar[] = [];
    const trades: streaming.StreamTrade[] = [];
    stream.onBar((b) => bars.push(b));
    stream.onTrade((t) => trades.push(t));
    stream.subscribeForBars(['SPY', 'AAPL', 'THIN']);
    stream.subscribeForTrades(['SPY']);
    stream.connect();
    expect((await stream.whenAuthenticated()).authenticated).toBe(true);
    await waitFor('4 SPY bars through the SDK', () => bars.filter((b) => b.symbol === 'SPY').length >= 4);
    stream.disconnect();
    const spy = bars.filter((b) => b.symbol === 'SPY').map((b) => b.timestampRaw);
    expect(new Set(spy).size).toBe(spy.length);
    expect([...spy].sort()).toEqual(spy);
    const published = sim.emittedBars('SPY').map((t) => t.replace('Z', '.000000000Z'));
    for (const t of spy) expect(published).toContain(t);
    expect(trades.length).toBeGreaterThan(spy.length * 3);
    expect(trades[0]!.timestampRaw).toMatch(/\.\d{9}Z$/);
    expect(stream.getSubscriptions().bars.sort()).toEqual(['AAPL', 'SPY', 'THIN']);
  });

  it('reconnects after a drop, waits out the 406 zombie window and resubscribes', async () => {
    stream = sdkStream();
    const errors: string[] = [];
    const barsAfter: streaming.StreamBar[] = [];
    let reconnected = 0;
    stream.onError((e) => errors.push(e));
    stream.onReconnected(() => (reconnected += 1));
    stream.subscribeForBars(['SPY']);
    stream.connect();
    await stream.whenAuthenticated();
    await waitFor(
      'the SDK to subscribe to one bar symbol',
      () =>
        Array.isArray(sim.status().connections) &&
        (sim.status().connections as { subscriptions: { bars: string[] } }[])[0]?.subscriptions.bars.length === 1,
    );
    const { body } = await control(sim, 'POST', '/sim/faults', { kind: 'drop' });
    expect(body.affected).toBe(1);
    await waitFor('the SDK to reconnect', () => reconnected >= 1, { timeoutMs: 8000 });
    stream.onBar((b) => barsAfter.push(b));
    await waitFor('a bar after the reconnect', () => barsAfter.length >= 1);
    expect(errors).toContain('connection limit exceeded');
    expect(sim.status().zombies).toEqual([]);
  });
});
