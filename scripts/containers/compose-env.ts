// The settings of one test stack, written to its own env file (the developer's .env is never read or touched):
// fresh NATS passwords, free host ports, the simulator, and thresholds scaled to a fast simulated market so
// every detector fires within seconds.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@vigil/service-kit/testing';
import { demoThresholds, natsServerEnv, newNatsPasswords, type NatsUser } from '../launcher/plan.js';
import { repoRoot } from './compose-stack.js';

const run = promisify(execFile);

/** The CA the containers and the test trust; infra/certs is what docker-compose.yml binds. */
export const caFile = join(repoRoot, 'infra', 'certs', 'ca.crt');

/**
 * Make the CA and NATS's certificate with scripts/nats-certs.sh when there is no CA yet. A developer's
 * existing certificates are kept as they are (the script changes nothing that is still good).
 */
export async function ensureCerts(): Promise<'kept' | 'made'> {
  const have = await access(caFile).then(
    () =>
      access(join(repoRoot, 'infra', 'certs', 'nats', 'tls.crt')).then(
        () => true,
        () => false,
      ),
    () => false,
  );
  if (have) return 'kept';
  await run(join(repoRoot, 'scripts', 'nats-certs.sh'), [join(repoRoot, 'infra', 'certs')], { cwd: repoRoot });
  return 'made';
}

export interface StackSettings {
  file: string;
  vars: Record<string, string>;
  passwords: Record<NatsUser, string>;
  /** Host ports: NATS (or nats-1 for ha) and each service's /healthz. */
  ports: { nats: number; gateway: number; strategy: number; executor: number; watchdog: number };
  symbols: string[];
  msPerMinute: number;
}

/** Wall ms per simulated minute: a minute every two seconds, which two cores carry for nine containers. */
export const MS_PER_MINUTE = 2000;

/**
 * The ha stack's detectors, in wall time above a NATS failover: a stream's new leader is elected seconds after
 * its node dies (8 s seen here), and meanwhile the gateway's publishes wait for their acks, so no bar moves.
 * The demo's market-minute thresholds (a no_bar after 4 s) would page for that; production's (120 s) never
 * would. Still far tighter than production, and the test waits past each of them after the kill.
 */
export const HA_THRESHOLDS = {
  NO_BAR_ALERT_MS: '20000',
  FLATTEN_AFTER_MS: '60000',
  HEARTBEAT_TIMEOUT_MS: '15000',
  SERVICE_DOWN_AFTER_MS: '15000',
  DEGRADED_ALERT_MS: '20000',
  UNMANAGED_ALERT_MS: '30000',
  // The gateway lease outlasts a node's failover too: at 5 s the leader, cut off from the lease's stream while a
  // new stream leader was elected (8 s), fenced itself and the lease moved (seen in CI: a feed reconnect).
  LEASE_TTL_MS: '20000',
} as const;

/** `n` different free ports (each asked of the OS in turn: two asks at once could be given the same one). */
async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

export async function writeStackEnv(dir: string, opts: { ha: boolean }): Promise<StackSettings> {
  const passwords = newNatsPasswords(randomBytes);
  const [nats, gateway, strategy, executor, watchdog, spare] = await distinctFreePorts(6);
  const symbols = ['SPY', 'AAPL', 'MSFT'];
  const m = MS_PER_MINUTE;
  const scaled = demoThresholds(m);
  const vars: Record<string, string> = {
    ...natsServerEnv(passwords),
    // Both host ports always set: `nats` starts under ha too, and must not take 4222 from a local server.
    NATS_PORT: String(opts.ha ? spare : nats),
    NATS_HA_PORT: String(opts.ha ? nats : spare),
    GATEWAY_PORT: String(gateway),
    STRATEGY_PORT: String(strategy),
    EXECUTOR_PORT: String(executor),
    WATCHDOG_PORT: String(watchdog),
    ...(opts.ha ? { NATS_URL: 'tls://nats-1:4222,tls://nats-2:4222,tls://nats-3:4222', JS_REPLICAS: '3' } : {}),
    // The simulator, as .env.example has it.
    APCA_API_KEY_ID: 'SIMKEY',
    APCA_API_SECRET_KEY: 'SIMSECRET',
    ALPACA_STREAM_URL: 'ws://sim:8070',
    ALPACA_DATA_URL: 'http://sim:8070',
    ALPACA_TRADING_URL: 'http://sim:8070',
    SYMBOLS: symbols.join(','),
    SIM_MINUTE_MS: String(m),
    // The open: the market is open from the first simulated minute.
    SIM_START: '2026-01-06T09:30:00-05:00',
    // Alpaca holds a dead session ~90 s: a minute and a half of this market (scripts/e2e/system.ts).
    SIM_ZOMBIE_GRACE_MS: String(Math.round(1.5 * m)),
    SIM_PING_INTERVAL_MS: '1000',
    // REST budgets per real minute, shrunk with the market's minute like the services' polls.
    SIM_REST_RATE_LIMIT: String(Math.round((200 * 60_000) / m)),
    ALPACA_REST_RATE_LIMIT: String(Math.round((190 * 60_000) / m)),
    // The launcher's demo thresholds (in market minutes), one file for all services: their names do not clash.
    ...scaled['market-gateway'],
    ...scaled.watchdog,
    // Wall-clock guards, quick: the gateway's heartbeat (and the strategy's decisions report) every 500 ms,
    // gateway_down after 4 s without one, health reports every second, service_down after 6 s without one.
    HEARTBEAT_INTERVAL_MS: '500',
    // The gateway's own feed check in wall time, not the demo's half market minute (1 s): nine containers on two
    // cores stall a second now and then, and each stall was a needless feed reconnect (a `reconnect` alert).
    STALE_AFTER_MS: '5000',
    HEARTBEAT_TIMEOUT_MS: '4000',
    HEALTH_INTERVAL_MS: '1000',
    SERVICE_DOWN_AFTER_MS: '6000',
    CLOCK_REFRESH_MS: '1000',
    FLATTEN_POLICY: 'halt',
    LOG_LEVEL: 'info',
    ...(opts.ha ? HA_THRESHOLDS : {}),
  };
  const file = join(dir, opts.ha ? 'ha.env' : 'single.env');
  const text = Object.entries(vars)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  await writeFile(file, `# Written by scripts/containers/compose.test.ts for one test stack.\n${text}\n`, {
    mode: 0o600,
  });
  return {
    file,
    vars,
    passwords,
    ports: { nats: nats!, gateway: gateway!, strategy: strategy!, executor: executor!, watchdog: watchdog! },
    symbols,
    msPerMinute: m,
  };
}
