import { startSim, type Sim } from '@vigil/alpaca-sim';
import { createAlpacaRest, MarketClock, Metrics } from '@vigil/service-kit';
import { captureLogger } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freshness } from '../src/freshness.js';
import { bar } from './bars.js';

let sim: Sim;
let clock: MarketClock;
beforeAll(async () => {
  sim = await startSim({ clock: { msPerMinute: 600 } }); // 100× real time, months away from the wall clock
  const rest = createAlpacaRest({
    APCA_API_KEY_ID: 'SIMKEY',
    APCA_API_SECRET_KEY: 'SIMSECRET',
    ALPACA_TRADING_URL: sim.url,
    ALPACA_DATA_URL: sim.url,
  });
  clock = new MarketClock({
    source: rest.clock,
    refreshMs: 200,
    logger: captureLogger().logger,
    metrics: new Metrics('strategy', { defaultMetrics: false }),
  });
  await clock.start();
});
afterAll(async () => {
  clock?.stop();
  await sim?.close();
});

it("judges freshness by the accelerated simulator's clock, not the wall clock", async () => {
  const deadline = Date.now() + 10_000;
  while (clock.clockRate() < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(clock.clockRate()).toBeGreaterThan(50);

  const justEnded = Math.floor(sim.clock.now() / 60_000) * 60_000 - 60_000;
  const live = bar(0, 100, { t0: justEnded });
  expect(freshness(live, clock.brokerNow(), 90_000, ['live']).fresh).toBe(true);
  expect(freshness(live, Date.now(), 90_000, ['live']).fresh).toBe(false); // the wall clock would have dropped it

  // One real second is about 100 simulated seconds: the same bar is now stale.
  await new Promise((r) => setTimeout(r, 1_500));
  expect(freshness(live, clock.brokerNow(), 90_000, ['live'])).toMatchObject({
    fresh: false,
    reason: expect.stringMatching(/over 90000 ms/),
  });
});
