import { alpacaConfig, baseConfig, clockConfig, envInt } from '@vigil/service-kit';
import * as z from 'zod';

/** What to do to the executor when data stays stale: nothing, stop new orders, or stop and close positions. */
export const FlattenPolicy = z.enum(['off', 'halt', 'flatten']);
export type FlattenPolicy = z.infer<typeof FlattenPolicy>;

/** What to do beyond paging while the live stream is down and polling carries the data. */
export const DegradedPolicy = z.enum(['alert', 'halt']);
export type DegradedPolicy = z.infer<typeof DegradedPolicy>;

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
  /** The executor's setting of the same name: after a flatten, `manual` leaves the halt for a person. */
  RESUME_AFTER_FLATTEN: z.enum(['manual', 'auto'], { error: 'expected manual or auto' }).default('manual'),
  /** Live stream down this long in market hours (even with polling carrying fresh bars): `feed_degraded` warning. */
  DEGRADED_ALERT_MS: envInt(120_000, { min: 1 }),
  /** ...and this long: the same incident turns critical. */
  DEGRADED_CRITICAL_MS: envInt(600_000, { min: 1 }),
  DEGRADED_POLICY: DegradedPolicy.default('alert'),
  /** A held symbol with fresh bars and no strategy decision for this long: `position_unmanaged` (critical). */
  UNMANAGED_ALERT_MS: envInt(180_000, { min: 1 }),
  /** How often the broker's positions are read for `position_unmanaged`. */
  POSITIONS_REFRESH_MS: envInt(15_000, { min: 10 }),
  /** More than FLAP_MAX_RECONNECTS reconnects within FLAP_WINDOW_MS is a flap. */
  FLAP_MAX_RECONNECTS: envInt(3, { min: 1 }),
  FLAP_WINDOW_MS: envInt(600_000, { min: 1 }),
  /** Gateway buffer fill (0..1) that raises `buffer_high`: NATS has been refusing bars for a while. */
  BUFFER_ALERT_FILL: z.coerce.number({ error: 'expected a number between 0 and 1' }).gt(0).max(1).default(0.5),
  ...clockConfig,
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
  /** PagerDuty Events API v2 integration key (a secret): incidents trigger and resolve a PagerDuty incident. */
  PAGERDUTY_ROUTING_KEY: z.string().trim().min(1).optional(),
  PAGERDUTY_EVENTS_URL: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
    .default('https://events.pagerduty.com/v2/enqueue'),
  /** Slack incoming webhook (a secret: the URL is the credential). */
  SLACK_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  /** A sink that gave up this many alerts in a row, or failed this long without a delivery: `sink_failing`. */
  SINK_FAILING_AFTER_FAILURES: envInt(2, { min: 1 }),
  SINK_FAILING_AFTER_MS: envInt(300_000, { min: 1 }),
  /** No health report from market-gateway, strategy or executor this long: `service_down` (3 of their 10 s reports). */
  SERVICE_DOWN_AFTER_MS: envInt(30_000, { min: 1 }),
  /** How often the strategy's and executor's durable consumers are read for `consumer_lag`. */
  CONSUMER_LAG_CHECK_MS: envInt(10_000, { min: 10 }),
  /** A consumer backlog that has not shrunk this long while bars arrive: `consumer_lag` warning... */
  CONSUMER_LAG_ALERT_MS: envInt(60_000, { min: 1 }),
  /** ...and this long: the same incident turns critical. */
  CONSUMER_LAG_CRITICAL_MS: envInt(180_000, { min: 1 }),
  /** Dead man's switch check URL (healthchecks.io style; a secret), pinged while NATS answers. */
  DEADMAN_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  /** Pinged instead while a critical incident is open; default DEADMAN_URL + `/fail`. A secret. */
  DEADMAN_FAIL_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  DEADMAN_INTERVAL_MS: envInt(60_000, { min: 100 }),
  DEADMAN_TIMEOUT_MS: envInt(10_000, { min: 10 }),
});
export type WatchdogConfig = z.infer<typeof watchdogConfig>;
