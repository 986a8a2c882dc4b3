import { iso, secs, type AlertDraft } from './drafts.js';

/** One sink's run of failures: give-ups in a row, since when it fails, and whether `sink_failing` went out. */
export interface SinkHealth {
  failures: number;
  failingSince: number | null;
  alerted: boolean;
}

export const healthySink: SinkHealth = { failures: 0, failingSince: null, alerted: false };

export interface SinkFailingLimits {
  /** This many alerts given up in a row... */
  afterFailures: number;
  /** ...or failing (no delivery since its first failed attempt) this long: the sink is failing. */
  afterMs: number;
}

/** `retry`: an attempt failed and will be retried; `gave_up`: the sink lost an alert; `delivered`: it works. */
export type SinkOutcome = 'delivered' | 'retry' | 'gave_up';

export type SinkHealthChange =
  | { to: 'failing'; since: number; failures: number }
  | { to: 'recovered'; since: number; failedForMs: number };

/** The next health after a delivery outcome, and whether to raise or resolve `sink_failing` (once each). */
export function nextSinkHealth(
  h: SinkHealth,
  outcome: SinkOutcome,
  now: number,
  limits: SinkFailingLimits,
): { health: SinkHealth; change: SinkHealthChange | null } {
  if (outcome === 'delivered') {
    const change =
      h.alerted && h.failingSince !== null
        ? { to: 'recovered' as const, since: h.failingSince, failedForMs: now - h.failingSince }
        : null;
    return { health: healthySink, change };
  }
  const since = h.failingSince ?? now;
  const failures = h.failures + (outcome === 'gave_up' ? 1 : 0);
  const failing = failures >= limits.afterFailures || now - since >= limits.afterMs;
  if (h.alerted || !failing) return { health: { ...h, failures, failingSince: since }, change: null };
  return { health: { failures, failingSince: since, alerted: true }, change: { to: 'failing', since, failures } };
}

/**
 * The `sink_failing` alert for a change: a warning that opens an incident per run of failures (its id names
 * the sink and when it began, so the resolve closes the same one), resolved with how long the sink failed.
 */
export function sinkFailingDraft(sink: string, change: SinkHealthChange, lastError: string | null): AlertDraft {
  const incidentId = `sink-${sink}-${iso(change.since)}`;
  if (change.to === 'recovered')
    return {
      kind: 'sink_failing',
      severity: 'info',
      status: 'resolved',
      incidentId,
      message: `alert sink ${sink} delivers again after failing for ${secs(change.failedForMs)}`,
      durationMs: change.failedForMs,
      details: { sink, failingSince: iso(change.since) },
    };
  return {
    kind: 'sink_failing',
    severity: 'warning',
    status: 'open',
    incidentId,
    message:
      `alert sink ${sink} keeps failing (${change.failures} alert${change.failures === 1 ? '' : 's'} given up, ` +
      `failing since ${iso(change.since)}): alerts still reach NATS, the log and the other sinks; ` +
      `check its URL, key or command and the receiver`,
    durationMs: null,
    details: { sink, failures: change.failures, failingSince: iso(change.since), lastError },
  };
}
