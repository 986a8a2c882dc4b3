import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { consumers } from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';
import type { ConsumerRead } from './consumer-lag.js';

/** The durable consumers whose backlog `consumer_lag` judges: bars into the strategy, signals into the executor. */
const watched = [consumers.strategyBars, consumers.executorSignals].map((c) => ({
  stream: c.stream,
  durable: c.durable_name,
  name: `${c.stream}/${c.durable_name}`,
}));

/**
 * Reads the INFO of the watched durable consumers every `intervalMs` and hands each backlog on. A failed read
 * (NATS away, the consumer not created yet, a missing right) is counted every time and logged once per run of
 * failures, with a line when it reads again; it never throws and never stops the timer.
 */
export class ConsumerInfoReader {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private jsm: JetStreamManager | null = null;
  private readonly failing = new Set<string>();
  private readonly log: Logger;
  private readonly reads;
  private readonly pendingGauge;

  constructor(
    private readonly nc: NatsConnection,
    private readonly intervalMs: number,
    private readonly onRead: (read: ConsumerRead) => void,
    logger: Logger,
    metrics: Metrics,
  ) {
    this.log = logger.child({ component: 'consumer-lag' });
    this.reads = metrics.counter('watchdog_consumer_info_reads_total', 'Durable consumer INFO reads, by outcome', [
      'consumer',
      'outcome',
    ]);
    this.pendingGauge = metrics.gauge(
      'watchdog_consumer_pending',
      'Messages a durable consumer has not yet processed (num_pending + num_ack_pending), as last read',
      ['consumer'],
    );
  }

  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async check(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const c of watched) await this.read(c);
    } finally {
      this.busy = false;
    }
  }

  private async read(c: (typeof watched)[number]): Promise<void> {
    let pending: number;
    try {
      // No $JS.API.INFO check: the watchdog's NATS user may read only these consumers' INFO.
      this.jsm ??= await jetstreamManager(this.nc, { checkAPI: false });
      const info = await this.jsm.consumers.info(c.stream, c.durable);
      pending = info.num_pending + info.num_ack_pending;
    } catch (err) {
      this.reads.inc({ consumer: c.name, outcome: 'error' });
      if (!this.failing.has(c.name))
        this.log.warn(
          { err, consumer: c.name },
          'cannot read the consumer INFO; consumer_lag is blind to it until it reads again (check that the consumer exists and NATS is up)',
        );
      this.failing.add(c.name);
      return;
    }
    this.reads.inc({ consumer: c.name, outcome: 'ok' });
    this.pendingGauge.set({ consumer: c.name }, pending);
    if (this.failing.delete(c.name)) this.log.info({ consumer: c.name, pending }, 'consumer INFO readable again');
    this.onRead({ consumer: c.name, pending });
  }
}
