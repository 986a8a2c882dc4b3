import * as z from 'zod';
import { ConfigError } from './errors.js';

export type Env = Record<string, string | undefined>;

/** Integer from an env var, with a default. Rejects `12abc`, floats and empty strings. */
export const envInt = (def: number, opts: { min?: number; max?: number } = {}) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, { error: 'expected a whole number' })
    .transform(Number)
    .pipe(z.int().min(opts.min ?? Number.MIN_SAFE_INTEGER).max(opts.max ?? Number.MAX_SAFE_INTEGER))
    .default(def);

export const envBool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(def);

/** Comma-separated upper-case tickers: `SPY,AAPL,BRK.B`. */
export const envSymbols = (def: string[]) =>
  z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim().toUpperCase()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[A-Z][A-Z0-9.]{0,9}$/, { error: 'expected tickers such as SPY,AAPL' })).min(1))
    .default(def);

export const logLevel = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info');

/** Settings every service has: where NATS is, how to log, where to serve health and metrics. */
export const baseConfig = {
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  NATS_USER: z.string().min(1).optional(),
  NATS_PASS: z.string().min(1).optional(),
  LOG_LEVEL: logLevel,
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  HTTP_PORT: envInt(0, { min: 0, max: 65535 }),
  SHUTDOWN_TIMEOUT_MS: envInt(10_000, { min: 100 }),
};

/** Parse `env` with `schema`, or throw a `ConfigError` naming every offending variable and what it expected. */
export function parseConfig<S extends z.ZodType>(schema: S, env: Env): z.infer<S> {
  // Treat empty strings as unset so `FOO=` in an env file falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(config)';
    const got = typeof issue.path[0] === 'string' ? cleaned[issue.path[0]] : undefined;
    const shown = got === undefined ? 'missing' : isSecretName(name) ? 'got [hidden]' : `got "${got}"`;
    return `${name}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(problems, { cause: parsed.error });
}

/**
 * Load config at process start. On bad config print every problem and exit with code 2, before connecting
 * anywhere: a wrong setting must stop a trading service at once, not half-way through a session.
 */
export function loadConfig<S extends z.ZodType>(
  service: string,
  schema: S,
  env: Env = process.env,
  io: { stderr: (s: string) => void; exit: (code: number) => never } = {
    stderr: (s) => process.stderr.write(s),
    exit: (code) => process.exit(code),
  },
): z.infer<S> {
  try {
    return parseConfig(schema, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`${service}: ${err.message}\nFix the variables above (each README has a configuration table) and start again.\n`);
    return io.exit(2);
  }
}

export function isSecretName(name: string): boolean {
  return /SECRET|PASS|TOKEN|KEY|WEBHOOK|CREDS/i.test(name);
}
