import * as z from 'zod';
import { isoInstant, nonNegativeInt, schemaVersion, token } from '../primitives.js';

export const HealthReport = z.strictObject({
  v: schemaVersion,
  service: token,
  instanceId: z.string().min(1),
  /** The running build: the service's package.json version (`0.1.0`), as `nats micro ls` shows it too. */
  version: z.string().min(1),
  at: isoInstant,
  status: z.enum(['ok', 'degraded', 'down']),
  uptimeSec: nonNegativeInt,
  /** Named figures for dashboards, e.g. `barsPerMinute`, `lastBarAgeMs`, `uptimePct`, `openAlerts`. */
  figures: z.record(z.string(), z.number().nullable()),
  notes: z.array(z.string()),
});
export type HealthReport = z.infer<typeof HealthReport>;
