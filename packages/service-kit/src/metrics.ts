import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type { Counter, Histogram, Registry };

/**
 * One registry per service instance (not prom-client's global), so tests can run several services in one
 * process. Every metric made here is prefixed `vigil_` and labelled with the service: a service names its own
 * metrics after itself (`executor_signals_total` → `vigil_executor_signals_total`); the figures this kit counts
 * for every service (`nats_connected`, `consumer_messages_total`, …) are one name told apart by the label.
 * prom-client's default process metrics stay unprefixed (`process_cpu_seconds_total`, `nodejs_*`), the names
 * stock Node.js dashboards query.
 */
export class Metrics {
  readonly registry = new Registry();

  constructor(
    readonly service: string,
    opts: { defaultMetrics?: boolean } = {},
  ) {
    this.registry.setDefaultLabels({ service });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.getOrCreate(
      name,
      () => new Counter({ name: `vigil_${name}`, help, labelNames, registers: [this.registry] }),
    );
  }

  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    collect?: (this: Gauge<L>) => void,
  ): Gauge<L> {
    const gauge = this.getOrCreate(
      name,
      () =>
        new Gauge({
          name: `vigil_${name}`,
          help,
          labelNames,
          registers: [this.registry],
          ...(collect ? { collect } : {}),
        }),
    );
    // Made again (a gateway replica leading a second time builds its publisher anew): the newest one reports,
    // not the stopped one whose figures no longer move.
    if (collect) Object.assign(gauge, { collect });
    return gauge;
  }

  histogram<L extends string>(
    name: string,
    help: string,
    buckets: number[],
    labelNames: readonly L[] = [],
  ): Histogram<L> {
    return this.getOrCreate(
      name,
      () => new Histogram({ name: `vigil_${name}`, help, buckets, labelNames, registers: [this.registry] }),
    );
  }

  private getOrCreate<M>(name: string, make: () => M): M {
    return (this.registry.getSingleMetric(`vigil_${name}`) as M | undefined) ?? make();
  }
}
