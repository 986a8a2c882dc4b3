import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Field names that hold secrets wherever they appear (top level or nested up to two levels). */
const SECRET_FIELDS = [
  'key',
  'keyId',
  'secret',
  'secretKey',
  'apiKey',
  'password',
  'pass',
  'token',
  'authorization',
  'creds',
  'seed',
  'webhookUrl',
  'ALPACA_KEY_ID',
  'ALPACA_SECRET_KEY',
  'APCA_API_KEY_ID',
  'APCA_API_SECRET_KEY',
  'NATS_PASS',
  'ALERT_WEBHOOK_URL',
  '"apca-api-key-id"',
  '"apca-api-secret-key"',
];

const redactPaths = SECRET_FIELDS.flatMap((f) => {
  const bracket = f.startsWith('"') ? `[${f}]` : `.${f}`;
  const top = f.startsWith('"') ? `[${f}]` : f;
  return [top, `*${bracket}`, `*.*${bracket}`];
});

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Secret values (keys, passwords, webhook URLs) scrubbed from every line, even inside message text. */
  secrets?: (string | undefined)[];
  destination?: DestinationStream;
}

/**
 * JSON logs to stdout. Secrets are removed twice: by field name (pino redaction) and by value, so a key
 * that ends up inside an error message or URL is still never written.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const secrets = (opts.secrets ?? []).filter((s): s is string => typeof s === 'string' && s.length >= 4);
  return pino(
    {
      name: opts.name,
      level: opts.level ?? 'info',
      base: { service: opts.name, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[Redacted]' },
      hooks: secrets.length ? { streamWrite: (line: string) => scrub(line, secrets) } : {},
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

function scrub(line: string, secrets: string[]): string {
  let out = line;
  for (const secret of secrets) {
    for (const form of [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]) {
      if (out.includes(form)) out = out.split(form).join('[Redacted]');
    }
  }
  return out;
}
