import { Metrics } from '@vigil/service-kit';
import { captureLogger } from '@vigil/service-kit/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { msUntilToken, refill, RestBudget, type RestPriority } from './rest-budget.js';

describe('refill / msUntilToken', () => {
  it('refills at the rate, never above the burst, and says how long until a whole token', () => {
    expect(refill({ tokens: 0, at: 0 }, 30_000, 120, 10)).toEqual({ tokens: 10, at: 30_000 });
    expect(refill({ tokens: 0, at: 0 }, 250, 120, 10).tokens).toBeCloseTo(0.5);
    expect(msUntilToken({ tokens: 0.5, at: 0 }, 120)).toBe(250);
    expect(msUntilToken({ tokens: 1, at: 0 }, 120)).toBe(0);
  });
});

describe('RestBudget', () => {
  afterEach(() => vi.useRealTimers());

  it('lets the burst go at once, then grants by priority: backfill, poll, audit, each in arrival order', async () => {
    vi.useFakeTimers();
    const log = captureLogger();
    const metrics = new Metrics('gw', { defaultMetrics: false });
    const budget = new RestBudget({ perMinute: 60, burst: 2, logger: log.logger, metrics });
    const order: string[] = [];
    const ask = (p: RestPriority, name: string) => budget.acquire(p).then(() => order.push(name));
    const all = [ask('audit', 'audit1'), ask('audit', 'audit2'), ask('audit', 'audit3'), ask('poll', 'poll1')];
    await Promise.resolve();
    expect(order).toEqual(['audit1', 'audit2']);
    all.push(ask('backfill', 'backfill1'));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(order).toEqual(['audit1', 'audit2', 'backfill1']);
    await vi.advanceTimersByTimeAsync(2_000);
    await Promise.all(all);
    expect(order).toEqual(['audit1', 'audit2', 'backfill1', 'poll1', 'audit3']);
    // The shortage is logged once when it starts and once when it ends, not per request.
    expect(log.text().match(/budget used up/g)).toHaveLength(1);
    expect(log.text().match(/budget has room again/g)).toHaveLength(1);
    expect(await metrics.registry.getSingleMetricAsString('vigil_gateway_rest_requests_total')).toContain(
      '{priority="audit",service="gw"} 3',
    );
    budget.stop();
  });
});
