import { parseArgs } from 'node:util';

/** One `./vigil ctl` command, as parsed from its arguments. Pure data: nothing is sent yet. */
export type CtlCommand =
  | { name: 'status' }
  | { name: 'halt'; reason: string; incident: string | null }
  | { name: 'resume'; incident: string; reason: string }
  | { name: 'flatten'; reason: string; incident: string | null }
  | { name: 'reconnect'; reason: string }
  | { name: 'incidents'; scan: number }
  | { name: 'alerts'; limit: number };

export interface CtlInvocation {
  command: CtlCommand;
  /** Print the typed reply as JSON (for scripts) instead of text. */
  json: boolean;
  /** How long to wait for each reply. */
  timeoutMs: number;
}

export type ParsedArgs = { ok: true; invocation: CtlInvocation } | { ok: false; help: boolean; error: string };

export const USAGE = `usage: ./vigil ctl <command> [options]
  status                              the gateway's status, the four services ($SRV) and the executor's halt
  halt --reason R [--incident ID]     stop new orders (the reply names the incident to resume)
  resume --incident ID [--reason R]   allow orders again after a halt (as a person: always allowed)
  flatten --reason R [--incident ID]  close Vigil's positions and halt
  reconnect [--reason R]              make the gateway reconnect to the market data feed
  incidents [--scan N]                open incidents (opened and not resolved in the last N alerts, 10000)
  alerts [--limit N]                  the last N alerts (20)
options: --json (the raw reply, for scripts), --timeout MS (per reply; 10000, flatten 60000)
login: .vigil/nats-operator.env of ./vigil start, or NATS_URL with NATS_USER=operator NATS_PASS (NATS_TLS_CA)
exit: 0 ok, 1 refused, 2 usage, 3 no responders, 4 timed out, 5 cannot connect/auth, 6 unreadable reply`;

const NAMES = ['status', 'halt', 'resume', 'flatten', 'reconnect', 'incidents', 'alerts'] as const;
/** Which options each command takes; anything else is a usage error, so a typo never sends a command. */
const ACCEPTS: Record<CtlCommand['name'], readonly string[]> = {
  status: [],
  halt: ['reason', 'incident'],
  resume: ['incident', 'reason'],
  flatten: ['reason', 'incident'],
  reconnect: ['reason'],
  incidents: ['scan'],
  alerts: ['limit'],
};

/** Parse `./vigil ctl`'s arguments (after `ctl`). A mistake is an error naming it; nothing is guessed. */
export function parseCtlArgs(argv: readonly string[]): ParsedArgs {
  let parsed: ReturnType<typeof parseWith>;
  try {
    parsed = parseWith(argv);
  } catch (err) {
    return { ok: false, help: false, error: (err as Error).message };
  }
  const { values, positionals } = parsed;
  const [name, ...extra] = positionals;
  if (values.help || name === 'help') return { ok: false, help: true, error: '' };
  if (!name) return { ok: false, help: false, error: 'no command given' };
  if (!(NAMES as readonly string[]).includes(name))
    return { ok: false, help: false, error: `unknown command "${name}"` };
  const cmd = name as CtlCommand['name'];
  if (extra.length) return { ok: false, help: false, error: `unexpected argument "${extra[0]}"` };
  const given = (['reason', 'incident', 'limit', 'scan'] as const).filter((o) => values[o] !== undefined);
  const foreign = given.find((o) => !ACCEPTS[cmd].includes(o));
  if (foreign) return { ok: false, help: false, error: `${cmd} takes no --${foreign}` };

  const text = (o: 'reason' | 'incident') => values[o]?.trim() || null;
  for (const o of ['reason', 'incident'] as const)
    if (values[o] !== undefined && !text(o)) return { ok: false, help: false, error: `--${o} is empty` };
  const count = (o: 'limit' | 'scan', fallback: number) => positiveInt(values[o], fallback);
  const timeout = positiveInt(values.timeout, cmd === 'flatten' ? 60_000 : 10_000);
  const limit = count('limit', 20);
  const scan = count('scan', 10_000);
  for (const [o, v] of [
    ['timeout', timeout],
    ['limit', limit],
    ['scan', scan],
  ] as const)
    if (v === null) return { ok: false, help: false, error: `--${o} must be a positive whole number` };

  let command: CtlCommand;
  switch (cmd) {
    case 'halt':
    case 'flatten': {
      const reason = text('reason');
      if (!reason) return { ok: false, help: false, error: `${cmd} requires --reason (why, for the record)` };
      command = { name: cmd, reason, incident: text('incident') };
      break;
    }
    case 'resume': {
      const incident = text('incident');
      if (!incident)
        return {
          ok: false,
          help: false,
          error: 'resume requires --incident (the incident the halt is for: see ./vigil ctl status)',
        };
      command = { name: 'resume', incident, reason: text('reason') ?? `resumed by hand for incident ${incident}` };
      break;
    }
    case 'reconnect':
      command = { name: 'reconnect', reason: text('reason') ?? 'reconnect asked by hand' };
      break;
    case 'incidents':
      command = { name: 'incidents', scan: scan! };
      break;
    case 'alerts':
      command = { name: 'alerts', limit: limit! };
      break;
    default:
      command = { name: 'status' };
  }
  return { ok: true, invocation: { command, json: values.json === true, timeoutMs: timeout! } };
}

function parseWith(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      reason: { type: 'string' },
      incident: { type: 'string' },
      limit: { type: 'string' },
      scan: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** `fallback` when absent, the number when a positive whole number, else null. */
function positiveInt(value: string | undefined, fallback: number): number | null {
  if (value === undefined) return fallback;
  return /^[1-9][0-9]*$/.test(value) ? Number(value) : null;
}
