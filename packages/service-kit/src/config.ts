import { readFileSync } from 'node:fs';
import { MAX_REPLICAS, TICKER_PATTERN } from '@vigil/contracts';
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
    .pipe(
      z
        .int()
        .min(opts.min ?? Number.MIN_SAFE_INTEGER)
        .max(opts.max ?? Number.MAX_SAFE_INTEGER),
    )
    .default(def);

export const envBool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(def);

/** `SYMBOLS=*`: every symbol the feed carries (Alpaca's wildcard). */
export const ALL_SYMBOLS = '*';

/**
 * Comma-separated upper-case tickers: `SPY,AAPL,BRK.B`. With `allowAll`, `*` alone means every symbol and parses to
 * `['*']` (see `symbolMatcher`); mixed with tickers it is refused, as it would silently mean all of them.
 */
export const envSymbols = (def: string[], opts: { allowAll?: boolean } = {}) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim().toUpperCase())
        .filter(Boolean),
    )
    .pipe(
      opts.allowAll
        ? z.union([
            z.tuple([z.literal(ALL_SYMBOLS)]),
            z
              .array(
                z.string().regex(TICKER_PATTERN, { error: 'expected tickers such as SPY,AAPL, or * alone for all' }),
              )
              .min(1),
          ])
        : z.array(z.string().regex(TICKER_PATTERN, { error: 'expected tickers such as SPY,AAPL' })).min(1),
    )
    .default(def);

/** Whether a SYMBOLS list is the wildcard. */
export const isAllSymbols = (symbols: readonly string[]): boolean => symbols.includes(ALL_SYMBOLS);

/** A SYMBOLS list as a test: the wildcard passes every symbol, a list only its own (a set: lists can be long). */
export function symbolMatcher(symbols: readonly string[]): (symbol: string) => boolean {
  if (isAllSymbols(symbols)) return () => true;
  const set = new Set(symbols);
  return (symbol) => set.has(symbol);
}

export const logLevel = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info');

/**
 * A PEM certificate file (a CA to trust), read once at start so that a wrong path, a directory or a key in
 * its place fails as configuration, naming the variable, rather than as a NATS error later.
 */
export const envCertFile = () =>
  z.string().superRefine((path, ctx) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      });
      return;
    }
    if (!text.includes('-----BEGIN CERTIFICATE-----'))
      ctx.addIssue({ code: 'custom', message: 'expected a PEM certificate file (-----BEGIN CERTIFICATE-----)' });
  });

/** Settings every service has: where NATS is, how to log, where to serve health and metrics. */
export const baseConfig = {
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  NATS_USER: z.string().min(1).optional(),
  NATS_PASS: z.string().min(1).optional(),
  // Default `_INBOX.<NATS_USER>` (with a user; nats.js's `_INBOX` without): the inboxes its NATS permissions allow.
  NATS_INBOX_PREFIX: z
    .string()
    .regex(/^_INBOX(\.[^\s.*>]+)*$/, {
      error: 'expected _INBOX.<name> (services answer only replies under _INBOX.), no spaces or wildcards',
    })
    .optional(),
  // The CA that signed the NATS server's certificate (PEM): verify the server against it; TLS becomes required.
  NATS_TLS_CA: envCertFile().optional(),
  LOG_LEVEL: logLevel,
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  HTTP_PORT: envInt(0, { min: 0, max: 65535 }),
  SHUTDOWN_TIMEOUT_MS: envInt(10_000, { min: 100 }),
  // How often `health.<service>` goes out; the watchdog counts a service down after a few missed reports.
  HEALTH_INTERVAL_MS: envInt(10_000, { min: 100 }),
  // Copies of each stream and KV bucket the service creates: 1 on one nats-server, 3 in a three-node cluster.
  JS_REPLICAS: envInt(1, { min: 1, max: MAX_REPLICAS }),
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
    io.stderr(
      `${service}: ${err.message}\nFix the variables above (each README has a configuration table) and start again.\n`,
    );
    return io.exit(2);
  }
}

export function isSecretName(name: string): boolean {
  // DEADMAN: a dead man's switch URL is its own credential (anyone holding it can keep a dead watchdog "alive").
  return /SECRET|PASS|TOKEN|KEY|WEBHOOK|CREDS|DEADMAN\w*URL/i.test(name);
}
