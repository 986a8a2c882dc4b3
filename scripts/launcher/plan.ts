/**
 * What `./vigil start` runs and with which settings. Pure: the same inputs give the same plan, so the
 * demo's accelerated thresholds are pinned by a test.
 */
export type Mode = { kind: 'sim'; msPerMinute: number; simUrl: string; wsUrl: string; keyId: string; secret: string } | { kind: 'alpaca'; keyId: string; secret: string };

export interface ServicePlan {
  name: 'market-gateway' | 'strategy' | 'executor' | 'watchdog';
  entry: string;
  env: Record<string, string>;
}

export const SERVICE_PORTS = { 'market-gateway': 8081, strategy: 8082, executor: 8083, watchdog: 8090 } as const;

export function planServices(mode: Mode, natsUrl: string, symbols: string[], env: Record<string, string | undefined> = {}): ServicePlan[] {
  const common: Record<string, string> = { NATS_URL: natsUrl, LOG_LEVEL: env.LOG_LEVEL ?? 'info', APCA_API_KEY_ID: mode.keyId, APCA_API_SECRET_KEY: mode.secret };
  if (mode.kind === 'sim') {
    Object.assign(common, { ALPACA_TRADING_URL: mode.simUrl, ALPACA_DATA_URL: mode.simUrl, ALPACA_STREAM_URL: mode.wsUrl, CLOCK_REFRESH_MS: '1000' });
  }
  const port = (name: ServicePlan['name']) => env[`${name.toUpperCase().replace('-', '_')}_PORT`] ?? String(SERVICE_PORTS[name]);
  const scaled = mode.kind === 'sim' ? demoThresholds(mode.msPerMinute) : {};
  return (['market-gateway', 'strategy', 'executor', 'watchdog'] as const).map((name) => ({
    name,
    entry: `services/${name}/src/main.ts`,
    env: { ...common, HTTP_PORT: port(name), ...(name === 'market-gateway' ? { SYMBOLS: symbols.join(',') } : {}), ...(scaled[name] ?? {}) },
  }));
}

/**
 * The production defaults are in wall-clock time for a market whose minute lasts 60 s. The simulator's
 * minute lasts `msPerMinute`, so thresholds measured in bar-minutes shrink with it; those that guard the
 * process itself (heartbeats, pings) stay in wall time.
 */
export function demoThresholds(msPerMinute: number): Partial<Record<ServicePlan['name'], Record<string, string>>> {
  const minutes = (n: number) => String(Math.max(200, Math.round(n * msPerMinute)));
  return {
    'market-gateway': {
      STALE_AFTER_MS: minutes(0.5),
      STABLE_AFTER_MS: minutes(1),
      POLL_INTERVAL_MS: minutes(0.25),
      POLL_AFTER_MS: minutes(0.2),
      LIMIT_RETRY_MS: '1000',
      BACKOFF_MAX_MS: minutes(0.5),
      PING_INTERVAL_MS: '2000',
      PONG_TIMEOUT_MS: '2000',
    },
    watchdog: {
      NO_BAR_ALERT_MS: minutes(2),
      FLATTEN_AFTER_MS: minutes(5),
      RESUME_AFTER_MS: minutes(1),
      FLAP_WINDOW_MS: minutes(10),
      HEARTBEAT_TIMEOUT_MS: '15000',
      TICK_MS: '250',
      HEALTH_INTERVAL_MS: minutes(1),
    },
  };
}
