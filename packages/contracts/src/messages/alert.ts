import * as z from 'zod';
import { isoInstant, schemaVersion } from '../primitives.js';

/** Also the `<kind>` token of `alerts.<kind>`. The operator runbook explains each one. */
export const AlertKind = z.enum([
  'no_bar',
  'gateway_down',
  'stale_halt',
  'flatten',
  'resumed',
  'flap',
  'reconnect',
  'command_failed',
  'auth_failed',
  'config_error',
  'buffer_high',
  'feed_degraded',
  'position_unmanaged',
  'service_down',
  'consumer_lag',
  'sink_failing',
  'data_repaired',
]);
export type AlertKind = z.infer<typeof AlertKind>;

export const Severity = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof Severity>;

export const Alert = z.strictObject({
  v: schemaVersion,
  id: z.string().min(1),
  kind: AlertKind,
  severity: Severity,
  /** `open` starts an incident, `resolved` ends it, `info` stands alone. */
  status: z.enum(['open', 'resolved', 'info']),
  incidentId: z.string().nullable(),
  message: z.string().min(1),
  at: isoInstant,
  /** On a resolving alert: how long data was stale. */
  durationMs: z.int().nonnegative().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type Alert = z.infer<typeof Alert>;
