import { hostname } from 'node:os';
import { TICKER_PATTERN } from '@vigil/contracts';
import { alpacaConfig, baseConfig, clockConfig, envInt, envSymbols } from '@vigil/service-kit';
import * as z from 'zod';

export const GatewayConfig = z.object({
  ...baseConfig,
  ...alpacaConfig,
  HTTP_PORT: envInt(8081, { min: 0, max: 65535 }),
  /** The symbols to stream and keep complete, or `*` for every symbol (the full market; see README). */
  SYMBOLS: envSymbols(['SPY', 'AAPL', 'MSFT'], { allowAll: true }),
  /** Symbols per REST bars request: they ride in the URL, which servers and proxies cap (often at 8 KiB). */
  REST_SYMBOLS_PER_REQUEST: envInt(1_000, { min: 1, max: 5_000 }),
  /** SYMBOLS=*: how often the broker's active assets are read again, to backfill and audit new listings. */
  UNIVERSE_REFRESH_MS: envInt(3_600_000, { min: 60_000 }),
  CANARY_SYMBOL: z.string().regex(TICKER_PATTERN, { error: 'expected a liquid ticker such as SPY' }).default('SPY'),
  PING_INTERVAL_MS: envInt(10_000, { min: 50 }),
  PONG_TIMEOUT_MS: envInt(5_000, { min: 50 }),
  /** The largest stream frame accepted (bytes); a bigger one closes the connection, logged, and it reconnects. */
  STREAM_MAX_FRAME_BYTES: envInt(8 * 1024 * 1024, { min: 64 * 1024 }),
  HANDSHAKE_TIMEOUT_MS: envInt(10_000, { min: 50 }),
  AUTH_TIMEOUT_MS: envInt(5_000, { min: 50 }),
  SUBSCRIBE_TIMEOUT_MS: envInt(5_000, { min: 50 }),
  STALE_AFTER_MS: envInt(30_000, { min: 100 }),
  STABLE_AFTER_MS: envInt(60_000, { min: 0 }),
  BACKOFF_INITIAL_MS: envInt(1_000, { min: 1 }),
  BACKOFF_MAX_MS: envInt(30_000, { min: 1 }),
  LIMIT_RETRY_MS: envInt(10_000, { min: 10 }),
  AUTH_RETRY_MS: envInt(300_000, { min: 10 }),
  CONFIG_RETRY_MS: envInt(300_000, { min: 10 }),
  POLL_INTERVAL_MS: envInt(15_000, { min: 50 }),
  POLL_AFTER_MS: envInt(10_000, { min: 0 }),
  BACKFILL_MAX_LOOKBACK_MS: envInt(7 * 3_600_000, { min: 60_000 }),
  // The audit (auditor.ts): its interval is wall time; its window and lag are broker time, the bars' own clock.
  AUDIT_INTERVAL_MS: envInt(300_000, { min: 1_000 }),
  AUDIT_WINDOW_MS: envInt(3_600_000, { min: 60_000 }),
  AUDIT_LAG_MS: envInt(90_000, { min: 0 }),
  HEARTBEAT_INTERVAL_MS: envInt(1_000, { min: 50, max: 1_000 }),
  BUFFER_MAX_BARS: envInt(100_000, { min: 10 }),
  PUBLISH_TIMEOUT_MS: envInt(2_000, { min: 50 }),
  // Below the watchdog's command timeout (5 s), so it hears the outcome rather than timing out.
  RECONNECT_REPLY_TIMEOUT_MS: envInt(4_000, { min: 100 }),
  /** This replica's name in the gateway lease: stable across its restarts (a restarted replica reclaims its own lease
   * at once), distinct between replicas. The host name by default: the pod or container name. */
  REPLICA_ID: z.string().min(1).max(128).default(hostname()),
  /** The lease's TTL: a standby takes over this long (plus a third of it) after the leader's last renewal. */
  LEASE_TTL_MS: envInt(5_000, { min: 1_000 }),
  ...clockConfig,
});
export type GatewayConfig = z.infer<typeof GatewayConfig>;
