import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { clockConfig, MarketClock, startMarketClock, type ClockSource } from './market-clock.js';
import { Metrics } from './metrics.js';
import { captureLogger } from './testing/log-capture.js';

const OPEN = new Date('2026-11-27T14:30:00Z');
const CLOSE = new Date('2026-11-27T18:00:00Z');

/** A broker whose clock runs `rate` times faster than ours, starting at 09:30 ET. */
function fakeBroker(rate: number) {
  const localStart = Date.now();
  let fail = false;
  const source: ClockSource = {
    legacyClock: async () => {
      if (fail) throw new Error('503 Service Unavailable');
      const t = OPEN.getTime() + (Date.now() - localStart) * rate;
      return {
        timestamp: new Date(t),
        isOpen: t < CLOSE.getTime(),
        nextOpen: new Date('2026-11-30T14:30:00Z'),
        nextClose: CLOSE,
      };
    },
  };
  return { source, setFail: (f: boolean) => (fail = f) };
}

beforeEach(() => vi.useFakeTimers());

/** start() takes two reads 250 ms apart; under fake time that wait must be advanced. */
async function startFaked(clock: MarketClock): Promise<void> {
  const started = clock.start();
  await vi.advanceTimersByTimeAsync(250);
  await started;
}
afterEach(() => vi.useRealTimers());

describe('MarketClock', () => {
  it('follows an accelerated broker clock and sees the close between polls', async () => {
    const broker = fakeBroker(600);
    const { logger, lines } = captureLogger();
    const clock = new MarketClock({
      source: broker.source,
      refreshMs: 1000,
      logger,
      metrics: new Metrics('t', { defaultMetrics: false }),
    });
    const phases: string[] = [];
    clock.onChange((p) => phases.push(p));
    await startFaked(clock);
    expect(clock.phase()).toBe('open');
    expect(clock.nextCloseMs()).toBe(CLOSE.getTime());
    await vi.advanceTimersByTimeAsync(3000);
    expect(clock.clockRate()).toBe(600);
    // 3.5 h of broker time = 21 s of ours at 600x; the close falls between two polls.
    await vi.advanceTimersByTimeAsync(18_500);
    expect(clock.phase()).toBe('closed');
    expect(phases).toEqual(['open', 'closed']);
    expect(lines().filter((l) => l.msg === 'market closed')).toHaveLength(1);
    clock.stop();
  });

  it('logs a failing clock once, counts every failure, and ages into unknown', async () => {
    const broker = fakeBroker(1);
    const { logger, lines } = captureLogger();
    const metrics = new Metrics('t', { defaultMetrics: false });
    const clock = new MarketClock({ source: broker.source, refreshMs: 1000, logger, metrics });
    await startFaked(clock);
    broker.setFail(true);
    await vi.advanceTimersByTimeAsync(6000);
    expect(clock.phase()).toBe('unknown');
    expect(lines().filter((l) => String(l.msg).startsWith('cannot read the broker clock'))).toHaveLength(1);
    expect(await metrics.registry.metrics()).toMatch(/vigil_clock_refresh_failures_total\{service="t"\} 6/);
    broker.setFail(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(clock.phase()).toBe('open');
    expect(await metrics.registry.metrics()).toMatch(/vigil_market_open\{service="t"\} 1/);
    clock.stop();
  });
});

describe('startMarketClock', () => {
  it('reads CLOCK_REFRESH_MS once for every service: 15 s by default, 50 ms at least', () => {
    const schema = z.object(clockConfig);
    expect(schema.parse({}).CLOCK_REFRESH_MS).toBe(15_000);
    expect(schema.parse({ CLOCK_REFRESH_MS: '500' }).CLOCK_REFRESH_MS).toBe(500);
    expect(schema.safeParse({ CLOCK_REFRESH_MS: '10' }).success).toBe(false);
  });

  it('returns a clock that has read the broker and refreshes at the configured interval', async () => {
    const broker = fakeBroker(1);
    const reads = vi.spyOn(broker.source, 'legacyClock');
    const { logger } = captureLogger();
    const started = startMarketClock({
      source: broker.source,
      config: { CLOCK_REFRESH_MS: 1000 },
      logger,
      metrics: new Metrics('t', { defaultMetrics: false }),
    });
    await vi.advanceTimersByTimeAsync(250);
    const clock = await started;
    expect(clock.phase()).toBe('open');
    expect(reads).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(3000);
    expect(reads).toHaveBeenCalledTimes(5);
    clock.stop();
  });
});
