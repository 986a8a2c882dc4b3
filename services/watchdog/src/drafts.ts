import type { AlertKind, Severity } from '@vigil/contracts';

/** What the rules ask for: an alert to publish, a command to send, or a line to log. */
export interface AlertDraft {
  kind: AlertKind;
  severity: Severity;
  status: 'open' | 'resolved' | 'info';
  incidentId: string | null;
  message: string;
  durationMs: number | null;
  details: Record<string, unknown>;
}

export type CommandName = 'reconnect' | 'halt' | 'flatten' | 'resume';

export type Action =
  | { type: 'alert'; alert: AlertDraft }
  | { type: 'command'; command: CommandName; incidentId: string | null; reason: string }
  | { type: 'note'; msg: string; details: Record<string, unknown> };

export function alert(
  kind: AlertKind,
  severity: Severity,
  status: AlertDraft['status'],
  incidentId: string | null,
  message: string,
  durationMs: number | null,
  details: Record<string, unknown>,
): Action {
  return { type: 'alert', alert: { kind, severity, status, incidentId, message, durationMs, details } };
}

export function note(msg: string, details: Record<string, unknown>): Action {
  return { type: 'note', msg, details };
}

export function secs(ms: number): string {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
