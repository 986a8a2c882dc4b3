import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

const names = async (m: Metrics) => (await m.registry.getMetricsAsJSON()).map((x) => x.name);

describe('metric names', () => {
  it("prefixes a service's own metrics with vigil_ once and labels every metric with the service", async () => {
    const executor = new Metrics('executor', { defaultMetrics: false });
    const watchdog = new Metrics('watchdog', { defaultMetrics: false });
    executor.counter('executor_signals_total', 'x').inc();
    executor.gauge('nats_connected', 'x').set(1);
    watchdog.gauge('watchdog_uptime_ratio', 'x').set(0.5);
    watchdog.gauge('nats_connected', 'x').set(0);

    expect(await names(executor)).toEqual(['vigil_executor_signals_total', 'vigil_nats_connected']);
    expect(await names(watchdog)).toEqual(['vigil_watchdog_uptime_ratio', 'vigil_nats_connected']);
    // The figures every service has are one name, told apart by the service label.
    expect(await executor.registry.metrics()).toMatch(/^vigil_nats_connected\{service="executor"\} 1$/m);
    expect(await watchdog.registry.metrics()).toMatch(/^vigil_nats_connected\{service="watchdog"\} 0$/m);
  });

  it('asking twice for a name gives the same metric', () => {
    const m = new Metrics('strategy', { defaultMetrics: false });
    expect(m.counter('strategy_bars_total', 'x')).toBe(m.counter('strategy_bars_total', 'x'));
  });

  it('a gauge made again with a new collect function reports through the newest one', async () => {
    const m = new Metrics('market-gateway', { defaultMetrics: false });
    m.gauge('gateway_buffer_fill_ratio', 'x', [], function () {
      this.set(0.9);
    });
    m.gauge('gateway_buffer_fill_ratio', 'x', [], function () {
      this.set(0.1);
    });
    expect(await m.registry.metrics()).toMatch(/^vigil_gateway_buffer_fill_ratio\{service="market-gateway"\} 0.1$/m);
  });

  it("collects Node's default process metrics unprefixed, on each service's own registry", async () => {
    const a = new Metrics('market-gateway');
    const b = new Metrics('executor');
    for (const m of [a, b]) {
      const all = await names(m);
      expect(all).toContain('process_cpu_seconds_total');
      expect(all).toContain('nodejs_heap_size_used_bytes');
      expect(all.filter((n) => n.startsWith('vigil_'))).toEqual([]);
    }
    expect(await b.registry.metrics()).toMatch(/^process_cpu_seconds_total\{service="executor"\} /m);
    expect(a.registry).not.toBe(b.registry);
  });
});
