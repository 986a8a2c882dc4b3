import { parseArgs } from 'node:util';
import * as z from 'zod';
import { envBool, envInt, envSymbols, logLevel, type Env } from '@vigil/service-kit';
import { DEFAULT_START_MS } from './clock.js';

/** Every setting is an environment variable; each CLI flag overrides the variable it names. */
export const FLAGS = {
  host: 'SIM_HOST',
  port: 'SIM_PORT',
  'minute-ms': 'SIM_MINUTE_MS',
  key: 'SIM_KEY_ID',
  secret: 'SIM_SECRET_KEY',
  start: 'SIM_START',
  symbols: 'SIM_SYMBOLS',
  sparse: 'SIM_SPARSE_SYMBOLS',
  seed: 'SIM_SEED',
  chaos: 'SIM_CHAOS_FILE',
  'chaos-seed': 'SIM_CHAOS_SEED',
  'zombie-grace-ms': 'SIM_ZOMBIE_GRACE_MS',
  'auth-timeout-ms': 'SIM_AUTH_TIMEOUT_MS',
  'ping-interval-ms': 'SIM_PING_INTERVAL_MS',
  'rate-limit': 'SIM_REST_RATE_LIMIT',
  margin: 'SIM_MARGIN',
  'log-level': 'LOG_LEVEL',
} as const;

export const simConfig = z.object({
  SIM_HOST: z.string().min(1).default('127.0.0.1'),
  SIM_PORT: envInt(0, { min: 0, max: 65535 }),
  SIM_MINUTE_MS: envInt(60_000, { min: 1 }),
  SIM_KEY_ID: z.string().min(1).default('SIMKEY'),
  SIM_SECRET_KEY: z.string().min(1).default('SIMSECRET'),
  SIM_START: z.iso
    .datetime({ offset: true, error: 'expected an RFC-3339 instant such as 2026-01-06T09:30:00-05:00' })
    .default(new Date(DEFAULT_START_MS).toISOString()),
  SIM_SYMBOLS: envSymbols(['SPY', 'AAPL', 'MSFT', 'QQQ']),
  SIM_SPARSE_SYMBOLS: envSymbols([]),
  SIM_SEED: envInt(1),
  SIM_CHAOS_FILE: z.string().min(1).optional(),
  SIM_CHAOS_SEED: z.string().trim().regex(/^\d+$/, { error: 'expected a whole number' }).transform(Number).optional(),
  SIM_ZOMBIE_GRACE_MS: envInt(90_000, { min: 0 }),
  SIM_AUTH_TIMEOUT_MS: envInt(10_000, { min: 1 }),
  SIM_PING_INTERVAL_MS: envInt(10_000, { min: 0 }),
  SIM_REST_RATE_LIMIT: envInt(200, { min: 1 }),
  /** A margin account: a sell beyond the long position opens a short. */
  SIM_MARGIN: envBool(false),
  LOG_LEVEL: logLevel,
});
export type SimConfig = z.infer<typeof simConfig>;

export const HELP = `alpaca-sim: an Alpaca-compatible market-data and broker simulator with fault injection.

Usage: alpaca-sim [flags]   (every flag also reads from the environment variable shown)

${Object.entries(FLAGS)
  .map(([flag, env]) => `  --${flag.padEnd(18)} ${env}`)
  .join('\n')}
  --help               this text

Once listening it prints one JSON line: {"streamUrl","restUrl","adminUrl",...}.
Clients append /v2/<iex|sip|delayed_sip|test> to streamUrl.`;

/** Fold CLI flags into the environment, so one schema validates both. Unknown flags throw. */
export function argvToEnv(argv: string[], env: Env): { env: Env; help: boolean } {
  const options = Object.fromEntries(
    [...Object.keys(FLAGS), 'help'].map((f) => [
      f,
      { type: f === 'help' ? ('boolean' as const) : ('string' as const) },
    ]),
  );
  // `pnpm … dev -- --port 1` passes the `--` through.
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
  const merged: Env = { ...env };
  for (const [flag, name] of Object.entries(FLAGS)) {
    const v = values[flag];
    if (typeof v === 'string') merged[name] = v;
  }
  return { env: merged, help: values.help === true };
}
