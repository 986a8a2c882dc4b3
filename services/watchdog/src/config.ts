import { alpacaConfig, baseConfig, envInt } from '@vigil/service-kit';
import * as z from 'zod';

/** What to do to the executor when data stays stale: nothing, stop new orders, or stop and close positions. */
export const FlattenPolicy = z.enum(['off', 'halt', 'flatten']);
export type FlattenPolicy = z.infer<typeof FlattenPolicy>;

/** Every threshold is wall-clock milliseconds; the defaults are the ones the incident report asked for. */
export const watchdogConfig = z.object({
  ...baseConfig,
  ...alpacaConfig,
  HTTP_PORT: envInt(8090, { min: 0, max: 65535 }),
  NO_BAR_ALERT_MS: envInt(120_000, { min: 1 }),
  HEARTBEAT_TIMEOUT_MS: envInt(15_000, { min: 1 }),
  FLATTEN_AFTER_MS: envInt(300_000, { min: 1 }),
  FLATTEN_AFTER_FAILURES: envInt(3, { min: 1 }),
  FLATTEN_POLICY: FlattenPolicy.default('halt'),
  RESUME_AFTER_MS: envInt(60_000, { min: 0 }),
  /** More than FLAP_MAX_RECONNECTS reconnects within FLAP_WINDOW_MS is a flap. */
  FLAP_MAX_RECONNECTS: envInt(3, { min: 1 }),
  FLAP_WINDOW_MS: envInt(600_000, { min: 1 }),
  /** Gateway buffer fill (0..1) that raises `buffer_high`: NATS has been refusing bars for a while. */
  BUFFER_ALERT_FILL: z.coerce.number({ error: 'expected a number between 0 and 1' }).gt(0).max(1).default(0.5),
  HEALTH_INTERVAL_MS: envInt(60_000, { min: 100 }),
  CLOCK_REFRESH_MS: envInt(30_000, { min: 10 }),
  /** How often the rules look at the time; keep it well under the smallest threshold. */
  TICK_MS: envInt(1_000, { min: 10 }),
  COMMAND_TIMEOUT_MS: envInt(5_000, { min: 10 }),
  /** A flatten waits this long for its reply and is never re-sent after a timeout (at most once per incident). */
  FLATTEN_TIMEOUT_MS: envInt(30_000, { min: 10 }),
  COMMAND_ATTEMPTS: envInt(3, { min: 1, max: 20 }),
  COMMAND_BACKOFF_MS: envInt(500, { min: 0 }),
  ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  ALERT_COMMAND: z.string().min(1).optional(),
  ALERT_SINK_TIMEOUT_MS: envInt(10_000, { min: 10 }),
  ALERT_SINK_ATTEMPTS: envInt(4, { min: 1, max: 20 }),
  /** At most one delivery per sink per this interval, so an alert storm cannot flood a pager. */
  ALERT_SINK_MIN_INTERVAL_MS: envInt(1_000, { min: 0 }),
  ALERT_SINK_QUEUE_MAX: envInt(200, { min: 1 }),
});
export type WatchdogConfig = z.infer<typeof watchdogConfig>;
