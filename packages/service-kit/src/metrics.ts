import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type { Registry };

/**
 * One registry per service instance (not prom-client's global), so tests can run several services in one
 * process. Every metric is prefixed `vigil_` and labelled with the service.
 */
export class Metrics {
  readonly registry = new Registry();

  constructor(readonly service: string, opts: { defaultMetrics?: boolean } = {}) {
    this.registry.setDefaultLabels({ service });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'vigil_' });
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.getOrCreate(name, () => new Counter({ name: `vigil_${name}`, help, labelNames, registers: [this.registry] }));
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (this: Gauge<L>) => void): Gauge<L> {
    return this.getOrCreate(
      name,
      () => new Gauge({ name: `vigil_${name}`, help, labelNames, registers: [this.registry], ...(collect ? { collect } : {}) }),
    );
  }

  histogram<L extends string>(name: string, help: string, buckets: number[], labelNames: readonly L[] = []): Histogram<L> {
    return this.getOrCreate(name, () => new Histogram({ name: `vigil_${name}`, help, buckets, labelNames, registers: [this.registry] }));
  }

  private getOrCreate<M>(name: string, make: () => M): M {
    return (this.registry.getSingleMetric(`vigil_${name}`) as M | undefined) ?? make();
  }
}
