/**
 * What `./vigil start` runs and with which settings. Pure: the same inputs give the same plan, so the
 * demo's accelerated thresholds are pinned by a test.
 */
export type Mode =
  | { kind: 'sim'; msPerMinute: number; simUrl: string; wsUrl: string; keyId: string; secret: string }
  | { kind: 'alpaca'; keyId: string; secret: string };

export interface ServicePlan {
  name: 'market-gateway' | 'strategy' | 'executor' | 'watchdog';
  entry: string;
  env: Record<string, string>;
}

export const SERVICE_PORTS = { 'market-gateway': 8081, strategy: 8082, executor: 8083, watchdog: 8090 } as const;

/**
 * The NATS user of each service, of the read-only watchers (`ops`, also the status view) and of a person
 * commanding by hand (`operator`, `./vigil ctl`), as `infra/nats/auth.conf` names them, and the environment
 * variable nats-server reads each password from.
 */
export const NATS_USERS = {
  'market-gateway': { user: 'market-gateway', passwordVar: 'VIGIL_GATEWAY_PASS' },
  strategy: { user: 'strategy', passwordVar: 'VIGIL_STRATEGY_PASS' },
  executor: { user: 'executor', passwordVar: 'VIGIL_EXECUTOR_PASS' },
  watchdog: { user: 'watchdog', passwordVar: 'VIGIL_WATCHDOG_PASS' },
  ops: { user: 'ops', passwordVar: 'VIGIL_OPS_PASS' },
  operator: { user: 'operator', passwordVar: 'VIGIL_OPERATOR_PASS' },
} as const;
export type NatsUser = keyof typeof NATS_USERS;

/**
 * How the services log in to NATS: each as its own user (the private server runs auth.conf), all as one
 * user (NATS_URL with NATS_USER/NATS_PASS), or without credentials (NATS_URL alone).
 */
export type NatsAuth =
  | { kind: 'users'; passwords: Record<NatsUser, string> }
  | { kind: 'shared'; user: string; pass: string }
  | { kind: 'none' };

/**
 * One password per user from `randomBytes`. Letters and digits only, starting with a letter: nats-server
 * parses a variable's value as a config value, so a password such as `123` or `true` would not read as a string.
 */
export function newNatsPasswords(randomBytes: (n: number) => Buffer): Record<NatsUser, string> {
  const entries = (Object.keys(NATS_USERS) as NatsUser[]).map((u) => [u, `v${randomBytes(18).toString('hex')}`]);
  return Object.fromEntries(entries) as Record<NatsUser, string>;
}

/** The variables auth.conf reads the passwords from, for nats-server's environment. */
export function natsServerEnv(passwords: Record<NatsUser, string>): Record<string, string> {
  return Object.fromEntries(
    (Object.keys(NATS_USERS) as NatsUser[]).map((u) => [NATS_USERS[u].passwordVar, passwords[u]]),
  );
}

/** NATS_USER/NATS_PASS for `who` under `auth` (none without credentials). */
export function natsCredentials(
  auth: NatsAuth,
  who: NatsUser,
): { NATS_USER: string; NATS_PASS: string } | Record<string, never> {
  if (auth.kind === 'users') return { NATS_USER: NATS_USERS[who].user, NATS_PASS: auth.passwords[who] };
  if (auth.kind === 'shared') return { NATS_USER: auth.user, NATS_PASS: auth.pass };
  return {};
}

/** The variable that overrides a service's HTTP port (`MARKET_GATEWAY_PORT`, ...). */
export function portVariable(name: ServicePlan['name']): string {
  return `${name.toUpperCase().replace('-', '_')}_PORT`;
}

/**
 * Each service's environment, in three layers: the user's environment (so STRATEGY, SYMBOLS, risk limits,
 * FLATTEN_POLICY, ALERT_WEBHOOK_URL... reach the services as they would when run alone), over the demo's
 * defaults (LOG_LEVEL, the simulator's scaled thresholds), under what the launcher must decide: where NATS is
 * and who logs in, the mode's keys and URLs, one HTTP port each, and the symbols: the same list for the
 * gateway, which streams them, and the executor, which trades only them.
 */
export function planServices(
  mode: Mode,
  natsUrl: string,
  symbols: string[],
  env: Record<string, string | undefined> = {},
  auth: NatsAuth = { kind: 'none' },
): ServicePlan[] {
  const user = passedThrough(env);
  const decided: Record<string, string> = {
    NATS_URL: natsUrl,
    APCA_API_KEY_ID: mode.keyId,
    APCA_API_SECRET_KEY: mode.secret,
  };
  const defaults: Record<string, string> = { LOG_LEVEL: 'info' };
  if (mode.kind === 'sim') {
    Object.assign(decided, {
      ALPACA_TRADING_URL: mode.simUrl,
      ALPACA_DATA_URL: mode.simUrl,
      ALPACA_STREAM_URL: mode.wsUrl,
    });
    defaults.CLOCK_REFRESH_MS = '2000';
  }
  const port = (name: ServicePlan['name']) => env[portVariable(name)] ?? String(SERVICE_PORTS[name]);
  const scaled = mode.kind === 'sim' ? demoThresholds(mode.msPerMinute) : {};
  return (['market-gateway', 'strategy', 'executor', 'watchdog'] as const).map((name) => ({
    name,
    entry: `services/${name}/src/main.ts`,
    env: {
      ...defaults,
      ...(scaled[name] ?? {}),
      ...user,
      ...decided,
      ...natsCredentials(auth, name),
      HTTP_PORT: port(name),
      ...(name === 'market-gateway' || name === 'executor' ? { SYMBOLS: symbols.join(',') } : {}),
    },
  }));
}

/**
 * The user's variables a service may see: every set one except the private server's passwords, which the
 * launcher puts in its own environment for nats-server and which would let any service log in as any user.
 */
export function passedThrough(env: Record<string, string | undefined>): Record<string, string> {
  const secret = new Set<string>(Object.values(NATS_USERS).map((u) => u.passwordVar));
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && !secret.has(e[0])),
  );
}

/**
 * The variables the user set that the launcher replaced for at least one service, so the start log can say
 * which of their settings do not apply.
 */
export function overridden(env: Record<string, string | undefined>, plans: ServicePlan[]): string[] {
  const names = new Set<string>();
  for (const p of plans)
    for (const [k, v] of Object.entries(passedThrough(env))) if (k in p.env && p.env[k] !== v) names.add(k);
  return [...names].sort();
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
      DEGRADED_ALERT_MS: minutes(2),
      DEGRADED_CRITICAL_MS: minutes(10),
      UNMANAGED_ALERT_MS: minutes(3),
      POSITIONS_REFRESH_MS: minutes(0.25),
    },
    // Decisions must be reported well inside UNMANAGED_ALERT_MS, which shrinks with the market's minute.
    strategy: { HEARTBEAT_INTERVAL_MS: minutes(0.1) },
  };
}

/**
 * Where the private nats-server keeps JetStream: with real keys under `.vigil/nats`, kept across runs, so the
 * executor's halt, its order history and the watchdog's open incident survive a restart of the launcher; on
 * the simulator (whose market starts afresh each run) in a temporary directory removed at stop.
 */
export function natsStore(root: string, realKeys: boolean): { dir: string; keep: true } | { dir: null; keep: false } {
  return realKeys ? { dir: `${root}/.vigil/nats`, keep: true } : { dir: null, keep: false };
}
