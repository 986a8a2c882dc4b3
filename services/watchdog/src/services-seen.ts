import type { HealthReport } from '@vigil/contracts';
import type { ServiceHealth } from '@vigil/service-kit';
import { watchedServices, type ServicesState } from './service-down.js';

/** Each service's newest health report, and when it arrived (this machine's clock). */
export type LastReports = Readonly<Record<string, { report: HealthReport; receivedAt: number }>>;

/** A report arrived: it replaces the one held for its service, whichever instance sent it. */
export function noteReport(last: LastReports, report: HealthReport, receivedAt: number): LastReports {
  return { ...last, [report.service]: { report, receivedAt } };
}

/** One row of the status page's services table. */
export interface ServiceLiveness {
  service: string;
  /**
   * `down` while `service_down` holds an outage open for it (the alert's judgement, so page and pager agree) or
   * when the service itself reports `down`; otherwise what its last report says; `unknown` before any report.
   */
  status: 'ok' | 'degraded' | 'down' | 'unknown';
  /** Why, when the status is not simply the service's own word. */
  reason: string | null;
  instanceId: string | null;
  version: string | null;
  /** Since its last report arrived; null when none arrived since the watchdog started. */
  lastReportAgeMs: number | null;
  /** Its uptime as of that report (not now: a silent service may have stopped since). */
  uptimeSec: number | null;
  figures: Record<string, number | null>;
  notes: string[];
}

/** The watchdog's own account: it is the one answering, so it needs no report over NATS to be known alive. */
export interface SelfAccount {
  health: ServiceHealth;
  instanceId: string;
  version: string;
  uptimeSec: number;
}

/**
 * Every Vigil service's liveness: the three the watchdog watches, judged down exactly when `service_down`
 * (`service-down.ts`, whose last-heard tracker this reuses) has an outage open, then the watchdog itself. Pure.
 */
export function servicesLiveness(
  watch: ServicesState,
  last: LastReports,
  self: SelfAccount,
  now: number,
): ServiceLiveness[] {
  const watched = watchedServices.map((service): ServiceLiveness => {
    const heard = last[service];
    const { down } = watch.services[service];
    const silentReason = down
      ? `no health report for ${Math.round((now - down.since) / 1000)} s (service_down open)`
      : heard
        ? null
        : 'no health report since the watchdog started';
    if (!heard)
      return {
        service,
        status: down ? 'down' : 'unknown',
        reason: silentReason,
        instanceId: null,
        version: null,
        lastReportAgeMs: null,
        uptimeSec: null,
        figures: {},
        notes: [],
      };
    const r = heard.report;
    return {
      service,
      status: down ? 'down' : r.status,
      reason: silentReason,
      instanceId: r.instanceId,
      version: r.version,
      lastReportAgeMs: Math.max(0, now - heard.receivedAt),
      uptimeSec: r.uptimeSec,
      figures: r.figures,
      notes: r.notes,
    };
  });
  const own = last.watchdog;
  return [
    ...watched,
    {
      service: 'watchdog',
      status: self.health.status,
      reason: null,
      instanceId: self.instanceId,
      version: self.version,
      // Its own report coming back over NATS, when it has: shows the bus carries health reports at all.
      lastReportAgeMs: own && own.report.instanceId === self.instanceId ? Math.max(0, now - own.receivedAt) : null,
      uptimeSec: self.uptimeSec,
      figures: self.health.figures,
      notes: self.health.notes,
    },
  ];
}
