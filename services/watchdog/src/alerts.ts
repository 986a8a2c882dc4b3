import { randomUUID } from 'node:crypto';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Alert, alertSubject, encode } from '@vigil/contracts';
import { retry, RetryAborted, type Logger, type Metrics } from '@vigil/service-kit';
import { OpenCriticals } from './deadman.js';
import type { AlertDraft } from './rules.js';
import type { SinkQueue } from './sinks.js';

const TIMELINE_MAX = 200;
/** Alerts waiting for JetStream beyond this are dropped, oldest first, and said so: memory stays bounded. */
const OUTBOX_MAX = 1000;
const PUBLISH_TIMEOUT_MS = 2_000;
const RETRY = { policy: { initialMs: 100, maxMs: 5_000 }, floorMs: 50 };

/**
 * Turns the rules' alert drafts into `Alert` messages: published on `alerts.<kind>`, logged, handed to
 * every sink's queue, and kept for the status page's timeline. Never throws. On NATS each alert is sent with
 * a JetStream publish, in order, and retried until the ALERTS stream acknowledges it (its id is the msg id,
 * so a retry is stored once): a plain publish during a NATS restart reached neither the stream (still
 * recovering) nor subscribers (not yet subscribed again), and an incident's `resumed` was lost that way.
 */
export class AlertPublisher {
  private readonly log: Logger;
  private readonly sent;
  private readonly failed;
  private readonly recent: Alert[] = [];
  private readonly outbox: Alert[] = [];
  private draining: Promise<void> | null = null;
  /** Aborted at stop: ends a retry mid-wait. */
  private readonly stopping = new AbortController();
  private readonly js: JetStreamClient;
  /** Incidents open at critical severity: the dead man's switch pings its fail form while there are any. */
  readonly criticals = new OpenCriticals();

  constructor(
    nc: NatsConnection,
    logger: Logger,
    metrics: Metrics,
    private readonly sinks: SinkQueue[],
  ) {
    this.log = logger.child({ component: 'alerts' });
    this.sent = metrics.counter('watchdog_alerts_total', 'Alerts raised by kind, severity and status', [
      'kind',
      'severity',
      'status',
    ]);
    this.failed = metrics.counter(
      'watchdog_alert_publish_failures_total',
      'Alert publishes JetStream did not acknowledge (retried), or alerts dropped from a full outbox',
    );
    this.js = jetstream(nc);
    const outbox = this.outbox;
    metrics.gauge('watchdog_alerts_unpublished', 'Alerts waiting for JetStream to acknowledge them', [], function () {
      this.set(outbox.length);
    });
  }

  emit(draft: AlertDraft, now: number): Alert {
    const alert: Alert = { v: 1, id: randomUUID(), at: new Date(now).toISOString(), ...draft };
    this.sent.inc({ kind: alert.kind, severity: alert.severity, status: alert.status });
    this.criticals.onAlert(alert);
    const line = {
      alert: {
        id: alert.id,
        kind: alert.kind,
        status: alert.status,
        incidentId: alert.incidentId,
        durationMs: alert.durationMs,
        details: alert.details,
      },
    };
    const level = alert.severity === 'critical' ? 'error' : alert.severity === 'warning' ? 'warn' : 'info';
    this.log[level](line, `alert ${alert.kind}: ${alert.message}`);
    this.outbox.push(alert);
    if (this.outbox.length > OUTBOX_MAX) {
      const dropped = this.outbox.shift()!;
      this.failed.inc();
      this.log.error(
        { alertId: dropped.id, kind: dropped.kind },
        'alert outbox full: dropped the oldest alert from NATS (it went to the log and the sinks)',
      );
    }
    this.draining ??= this.drain().finally(() => (this.draining = null));
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
    while (this.draining) await this.draining;
    await Promise.all(this.sinks.map((s) => s.idle()));
  }

  stop(): void {
    this.stopping.abort();
    if (this.outbox.length > 0)
      this.log.error(
        { alerts: this.outbox.map((a) => a.id) },
        'stopping with alerts JetStream never acknowledged; they are in the log',
      );
    for (const s of this.sinks) s.stop();
  }

  private async drain(): Promise<void> {
    while (this.outbox.length > 0 && !this.stopping.signal.aborted) {
      const alert = this.outbox[0]!;
      try {
        const attempts = await retry(
          async (attempt) => {
            await this.js.publish(alertSubject(alert.kind), encode(Alert, alert), {
              msgID: alert.id,
              timeout: PUBLISH_TIMEOUT_MS,
            });
            return attempt;
          },
          {
            label: 'store alert',
            ...RETRY,
            signal: this.stopping.signal,
            onRetry: ({ err, attempt }) => {
              this.failed.inc();
              // Once per alert, not per attempt: NATS can be gone for minutes.
              if (attempt === 1)
                this.log.warn(
                  { err, alertId: alert.id, waiting: this.outbox.length },
                  'alert not acknowledged by JetStream; retrying until it is',
                );
            },
          },
        );
        // By identity: a full outbox may have dropped its oldest entry meanwhile.
        const at = this.outbox.indexOf(alert);
        if (at >= 0) this.outbox.splice(at, 1);
        if (attempts > 1) this.log.info({ alertId: alert.id, attempts }, 'alert stored in ALERTS after a retry');
      } catch (err) {
        if (err instanceof RetryAborted) return;
        throw err;
      }
    }
  }
}
