import type { NatsConnection } from '@nats-io/transport-node';
import { HealthReport, healthSubject } from '@vigil/contracts';
import { Heartbeat } from './heartbeat.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';

/** What a service says of itself; the kit adds who it is, its version and uptime. */
export interface ServiceHealth {
  status: HealthReport['status'];
  /** The service's key figures by name (`barsLastMinute`, `halted` 0/1, …); null for one not known yet. */
  figures: HealthReport['figures'];
  notes: string[];
}

export interface HealthIdentity {
  service: string;
  instanceId: string;
  version: string;
  /** Epoch ms the service started at. */
  startedAt: number;
}

const severity = { ok: 0, degraded: 1, down: 2 } as const;

/**
 * One report from the service's own account (null before its domain is wired) and its readiness: a service
 * that is not ready (starting up, NATS or a consumer not there yet) is at least `degraded`, the reasons first
 * in its notes, so a report never says `ok` while `/readyz` says otherwise. Pure.
 */
export function healthReport(
  id: HealthIdentity,
  own: ServiceHealth | null,
  readiness: { ready: boolean; reasons: string[] },
  now: number,
): HealthReport {
  const self = own ?? { status: 'ok', figures: {}, notes: [] };
  const status = !readiness.ready && severity[self.status] < severity.degraded ? 'degraded' : self.status;
  return {
    v: 1,
    service: id.service,
    instanceId: id.instanceId,
    version: id.version,
    at: new Date(now).toISOString(),
    status,
    uptimeSec: Math.max(0, Math.floor((now - id.startedAt) / 1000)),
    figures: self.figures,
    notes: [...(readiness.ready ? [] : readiness.reasons), ...self.notes],
  };
}

export interface HealthReporterOptions extends HealthIdentity {
  nc: NatsConnection;
  intervalMs: number;
  /** The service's own account, read at each report; null until its domain is wired. */
  health: () => ServiceHealth | null;
  readiness: Readiness;
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
}

/**
 * `health.<service>` every `intervalMs` from now until `stop()`: what the watchdog's service_down watch and
 * operators (`nats sub 'health.>'`) read. A run of failed publishes (or a provider that throws) is logged once
 * and each counted in `vigil_health_report_failures_total`.
 */
export function startHealthReporter(opts: HealthReporterOptions): { stop(): void } {
  const now = opts.now ?? Date.now;
  const reports = new Heartbeat({
    nc: opts.nc,
    subject: healthSubject(opts.service),
    schema: HealthReport,
    build: () => healthReport(opts, opts.health(), opts.readiness.check(), now()),
    intervalMs: opts.intervalMs,
    logger: opts.logger.child({ component: 'health' }),
    metrics: opts.metrics,
    failures: { name: 'health_report_failures_total', help: 'Health reports that could not be published' },
  });
  reports.start();
  return { stop: () => reports.stop() };
}
