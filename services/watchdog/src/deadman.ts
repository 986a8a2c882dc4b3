import type { AlertDraft } from './drafts.js';

/**
 * The dead man's switch, decided: an outside service (healthchecks.io, Cronitor, Better Stack, PagerDuty
 * heartbeats) pages when the watchdog's pings stop, so a dead watchdog, host or NATS link still pages someone.
 * Pings go out only while NATS answers: a watchdog cut off from NATS sees nothing, and its silence is the page.
 * While a critical incident is open the ping is the fail form, so the outside service pages too, through a path
 * that does not depend on the watchdog's own sinks. Pure; `deadman-switch.ts` does the HTTP.
 */
export type PingForm = 'ok' | 'fail';

/** healthchecks.io's fail signal: the check URL with `/fail` appended to its path (query kept). */
export function deadmanFailUrl(url: string): string {
  const u = new URL(url);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/fail`;
  return u.toString();
}

/** Which ping to send now, or null to stay silent. */
export function pingForm(natsConnected: boolean, criticalOpen: boolean): PingForm | null {
  if (!natsConnected) return null;
  return criticalOpen ? 'fail' : 'ok';
}

/**
 * The incidents open at critical severity, followed from the alerts as they are raised: an `open` critical alert
 * adds its incident, any `resolved` alert of that incident removes it (a warning turned critical, like
 * `feed_degraded`, counts from its critical step).
 */
export class OpenCriticals {
  private readonly ids = new Set<string>();

  /** Incidents a restarted watchdog carries on, which raise no second `open`. */
  restore(ids: Iterable<string>): void {
    for (const id of ids) this.ids.add(id);
  }

  onAlert(a: Pick<AlertDraft, 'severity' | 'status' | 'incidentId'>): void {
    if (a.incidentId === null) return;
    if (a.status === 'resolved') this.ids.delete(a.incidentId);
    else if (a.status === 'open' && a.severity === 'critical') this.ids.add(a.incidentId);
  }

  any(): boolean {
    return this.ids.size > 0;
  }

  list(): string[] {
    return [...this.ids];
  }
}
