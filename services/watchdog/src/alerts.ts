import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { Alert, alertSubject, encode } from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';
import type { AlertDraft } from './rules.js';
import type { SinkQueue } from './sinks.js';

const TIMELINE_MAX = 200;

/**
 * Turns the rules' alert drafts into `Alert` messages: published on `alerts.<kind>`, logged, handed to
 * every sink's queue, and kept for the status page's timeline. Never throws: an alert that cannot go on
 * NATS (connection closed) still reaches the log and the sinks.
 */
export class AlertPublisher {
  private readonly log: Logger;
  private readonly sent;
  private readonly failed;
  private readonly recent: Alert[] = [];

  constructor(
    private readonly nc: NatsConnection,
    logger: Logger,
    metrics: Metrics,
    private readonly sinks: SinkQueue[],
  ) {
    this.log = logger.child({ component: 'alerts' });
    this.sent = metrics.counter('watchdog_alerts_total', 'Alerts raised by kind, severity and status', ['kind', 'severity', 'status']);
    this.failed = metrics.counter('watchdog_alert_publish_failures_total', 'Alerts that could not be published on NATS');
  }

  emit(draft: AlertDraft, now: number): Alert {
    const alert: Alert = { v: 1, id: randomUUID(), at: new Date(now).toISOString(), ...draft };
    this.sent.inc({ kind: alert.kind, severity: alert.severity, status: alert.status });
    const line = { alert: { id: alert.id, kind: alert.kind, status: alert.status, incidentId: alert.incidentId, durationMs: alert.durationMs, details: alert.details } };
    const level = alert.severity === 'critical' ? 'error' : alert.severity === 'warning' ? 'warn' : 'info';
    this.log[level](line, `alert ${alert.kind}: ${alert.message}`);
    try {
      this.nc.publish(alertSubject(alert.kind), encode(Alert, alert));
    } catch (err) {
      this.failed.inc();
      this.log.error({ err, alertId: alert.id }, 'cannot publish the alert on NATS; it still goes to the log and the sinks');
    }
    for (const sink of this.sinks) sink.push(alert);
    this.recent.unshift(alert);
    this.recent.length = Math.min(this.recent.length, TIMELINE_MAX);
    return alert;
  }

  /** Newest first. */
  timeline(): Alert[] {
    return [...this.recent];
  }

  async idle(): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.idle()));
  }

  stop(): void {
    for (const s of this.sinks) s.stop();
  }
}
