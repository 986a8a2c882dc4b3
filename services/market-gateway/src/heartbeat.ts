import type { NatsConnection } from '@nats-io/transport-node';
import { encode, GatewayHeartbeat, subjects } from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';

/**
 * `md.heartbeat` at least once a second, on core NATS (a heartbeat is only worth something now).
 * It carries the feed's state and reason, so the watchdog and operators see why, not only whether.
 */
export class Heartbeat {
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private failing = false;
  private readonly failures;

  constructor(
    private readonly nc: NatsConnection,
    private readonly build: (seq: number) => GatewayHeartbeat,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    metrics: Metrics,
  ) {
    this.failures = metrics.counter('gateway_heartbeat_failures_total', 'Heartbeats that could not be sent');
  }

  start(): void {
    this.beat();
    this.timer = setInterval(() => this.beat(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  beat(): void {
    try {
      this.nc.publish(subjects.heartbeat, encode(GatewayHeartbeat, this.build(this.seq++)));
      if (this.failing) this.logger.info('heartbeats flowing again');
      this.failing = false;
    } catch (err) {
      this.failures.inc();
      if (!this.failing) this.logger.error({ err }, 'cannot send heartbeat');
      this.failing = true;
    }
  }
}
