import type { NatsConnection } from '@nats-io/transport-node';
import { encode } from '@vigil/contracts';
import type * as z from 'zod';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface HeartbeatOptions<S extends z.ZodType> {
  nc: NatsConnection;
  subject: string;
  schema: S;
  /** Builds the message for sequence number `seq` (0, 1, 2...). */
  build: (seq: number) => z.input<S>;
  intervalMs: number;
  /** A beat is skipped while this says false (a gateway replica whose lease could have lapsed). Default: always. */
  when?: () => boolean;
  logger: Logger;
  /** Counts heartbeats that could not be sent, e.g. `gateway_heartbeat_failures_total`. */
  failures: { name: string; help: string };
  metrics: Metrics;
}

/**
 * A message on core NATS every `intervalMs` (a heartbeat is only worth something now, so it is not stored).
 * A run of failures is logged once when it starts and once when it ends, and each failure is counted.
 */
export class Heartbeat<S extends z.ZodType> {
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private failing = false;
  private readonly failures;

  constructor(private readonly opts: HeartbeatOptions<S>) {
    this.failures = opts.metrics.counter(opts.failures.name, opts.failures.help);
  }

  /** Beats now and every interval; a second call while running does nothing (two timers would beat twice as often,
   * and `stop` would clear only one). */
  start(): void {
    if (this.timer) return;
    this.beat();
    this.timer = setInterval(() => this.beat(), this.opts.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  beat(): void {
    if (this.opts.when && !this.opts.when()) return;
    try {
      this.opts.nc.publish(this.opts.subject, encode(this.opts.schema, this.opts.build(this.seq++)));
      if (this.failing) this.opts.logger.info({ subject: this.opts.subject }, 'heartbeats flowing again');
      this.failing = false;
    } catch (err) {
      this.failures.inc();
      if (!this.failing) this.opts.logger.error({ err, subject: this.opts.subject }, 'cannot send heartbeat');
      this.failing = true;
    }
  }
}
