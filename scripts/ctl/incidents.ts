import type { Alert } from '@vigil/contracts';

/** An incident the watchdog opened and has not resolved. */
export interface OpenIncident {
  incidentId: string;
  /** When its first `open` alert was raised. */
  openedAt: string;
  /** The kinds of its alerts, in the order first seen (no_bar, stale_halt, flatten...). */
  kinds: Alert['kind'][];
  highestSeverity: Alert['severity'];
  /** Its newest alert: where it stands. */
  latest: Alert;
}

const RANK = { info: 0, warning: 1, critical: 2 } as const;

/**
 * The incidents among `alerts` (oldest first) with an `open` alert and no `resolved` one, oldest first.
 * An incident whose `open` alert is older than the alerts given is not seen: the caller says how far it looked.
 */
export function openIncidents(alerts: readonly Alert[]): OpenIncident[] {
  const byId = new Map<string, OpenIncident>();
  const resolved = new Set<string>();
  for (const a of alerts) {
    if (a.incidentId === null) continue;
    if (a.status === 'resolved') resolved.add(a.incidentId);
    const known = byId.get(a.incidentId);
    if (known) {
      if (!known.kinds.includes(a.kind)) known.kinds.push(a.kind);
      if (RANK[a.severity] > RANK[known.highestSeverity]) known.highestSeverity = a.severity;
      known.latest = a;
    } else if (a.status === 'open') {
      byId.set(a.incidentId, {
        incidentId: a.incidentId,
        openedAt: a.at,
        kinds: [a.kind],
        highestSeverity: a.severity,
        latest: a,
      });
    }
  }
  return [...byId.values()].filter((i) => !resolved.has(i.incidentId));
}
