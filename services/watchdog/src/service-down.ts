import type { MarketPhase } from '@vigil/service-kit';
import { alert, iso, secs, type Action } from './drafts.js';

/**
 * `service_down`: a watched service has published no `HealthReport` on `health.<service>` for
 * SERVICE_DOWN_AFTER_MS. Critical in market hours (and when the phase is unknown: unsure counts as open),
 * a warning while the market is closed, turned critical once if the outage lasts into the open. One alert
 * per outage, resolved with its duration when the service reports again. Pure; `watchdog.ts` feeds it.
 */

/** The services whose health reports the watchdog expects (it does not watch itself). */
export const watchedServices = ['market-gateway', 'strategy', 'executor'] as const;
export type WatchedService = (typeof watchedServices)[number];

export const isWatchedService = (name: string): name is WatchedService =>
  (watchedServices as readonly string[]).includes(name);

export interface ServiceDown {
  id: string;
  /** When the silence began: the last report, or the watchdog's start. */
  since: number;
  critical: boolean;
}

export interface ServiceWatch {
  /** The last report, or null when none came since the watchdog started. */
  lastHeardAt: number | null;
  down: ServiceDown | null;
}

export interface ServicesState {
  /** A service never heard is judged from here: the watchdog's start. */
  startedAt: number;
  services: Record<WatchedService, ServiceWatch>;
}

export function initialServices(now: number): ServicesState {
  const services = Object.fromEntries(watchedServices.map((s) => [s, { lastHeardAt: null, down: null }]));
  return { startedAt: now, services: services as ServicesState['services'] };
}

/** When the silence began: the last report, or the watchdog's start for a service never heard. */
const silentSince = (s: ServicesState, w: ServiceWatch): number => w.lastHeardAt ?? s.startedAt;

/** A health report arrived: the service is alive; an open outage resolves with its duration. */
export function onHealthReport(s: ServicesState, service: WatchedService, instanceId: string, now: number): Action[] {
  const w = s.services[service];
  w.lastHeardAt = now;
  if (!w.down) return [];
  const { id, since } = w.down;
  w.down = null;
  return [
    alert('service_down', 'info', 'resolved', id, `${service} reports again after ${secs(now - since)}`, now - since, {
      service,
      instanceId,
    }),
  ];
}

export function evaluateServices(
  cfg: { serviceDownAfterMs: number },
  s: ServicesState,
  phase: MarketPhase,
  now: number,
): Action[] {
  const actions: Action[] = [];
  const critical = phase !== 'closed';
  for (const service of watchedServices) {
    const w = s.services[service];
    const since = w.down?.since ?? silentSince(s, w);
    const silentFor = now - since;
    if (silentFor < cfg.serviceDownAfterMs) continue;
    const heard =
      w.lastHeardAt === null && since === s.startedAt
        ? `never heard since the watchdog started at ${iso(since)}`
        : `last heard at ${iso(since)}`;
    const details = { service, lastHeardAt: w.lastHeardAt === null ? null : iso(w.lastHeardAt), phase };
    if (!w.down) {
      w.down = { id: `service-down-${service}-${iso(now)}`, since, critical };
      actions.push(
        alert(
          'service_down',
          critical ? 'critical' : 'warning',
          'open',
          w.down.id,
          `${service} has sent no health report for ${secs(silentFor)} (${heard})`,
          null,
          details,
        ),
      );
    } else if (critical && !w.down.critical) {
      w.down.critical = true;
      actions.push(
        alert(
          'service_down',
          'critical',
          'open',
          w.down.id,
          `${service} is still silent as the market opens: no health report for ${secs(silentFor)} (${heard})`,
          null,
          details,
        ),
      );
    }
  }
  return actions;
}

/** The open outages, to store: a restarted watchdog carries them on instead of paging them again. */
export function openOutages(s: ServicesState): Partial<Record<WatchedService, ServiceDown>> {
  return Object.fromEntries(
    watchedServices.flatMap((svc) => (s.services[svc].down ? [[svc, s.services[svc].down]] : [])),
  );
}

/** Outages stored by the watchdog before a restart: open still, resolved by the service's next report. */
export function restoreOutages(s: ServicesState, saved: Record<string, ServiceDown>): void {
  for (const [service, down] of Object.entries(saved))
    if (isWatchedService(service)) s.services[service].down = { ...down };
}

/** 1 while the service reports in time, 0 during an outage; for `vigil_watchdog_service_up{service}`. */
export const serviceUp = (s: ServicesState, service: WatchedService): number => (s.services[service].down ? 0 : 1);
