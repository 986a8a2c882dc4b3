// `./vigil ctl`: one command for a person to see and steer the running system (halt, resume, flatten,
// reconnect, status, incidents, alerts) as the NATS user `operator`. Exit codes: scripts/ctl/exit-codes.ts.
import { readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsTlsOptions } from '@vigil/service-kit';
import { loginFilePath } from './launcher/login-file.js';
import { parseCtlArgs, USAGE } from './ctl/args.js';
import { EXIT } from './ctl/exit-codes.js';
import { resolveLogin } from './ctl/login.js';
import { runCtl } from './ctl/run.js';

const root = resolve(import.meta.dirname, '..');
function fail(code: number, message: string): never {
  process.stderr.write(`[vigil ctl] ${message}\n`);
  process.exit(code);
}

const args = parseCtlArgs(process.argv.slice(2));
if (!args.ok) {
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(EXIT.ok);
  }
  fail(EXIT.usage, `${args.error}\n${USAGE}`);
}
const inv = args.invocation;

const file = loginFilePath(root, 'operator');
const fileText = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
  if (err.code === 'ENOENT') return null;
  return fail(EXIT.connect, `cannot read ${file}: ${err.message}`);
});
const found = resolveLogin(process.env, fileText, file);
if (!found.ok) fail(EXIT.connect, found.error);
const { login } = found;

let nc: NatsConnection;
try {
  nc = await connect({
    servers: login.url.split(','),
    name: 'vigil-ctl',
    ...(login.user ? { user: login.user, pass: login.pass ?? '' } : {}),
    inboxPrefix: login.inboxPrefix,
    ...natsTlsOptions(login.url, login.tlsCaFile ?? undefined),
    // A person waits for an answer, not for a server that may never come back.
    reconnect: false,
    timeout: inv.timeoutMs,
  });
} catch (err) {
  const message = (err as Error).message;
  fail(
    EXIT.connect,
    /authorization/i.test(message)
      ? `NATS at ${login.url} refused the login (${login.source}): ${message}. Check NATS_USER=operator and NATS_PASS (VIGIL_OPERATOR_PASS).`
      : `cannot connect to NATS at ${login.url} (${login.source}): ${message}. Is ./vigil start (or the server) running?`,
  );
}

const person = process.env.USER || userInfo().username;
const result = await runCtl(inv, { nc, requestedBy: `vigil ctl (${person}@${hostname()})`, now: Date.now });
await nc.close().catch(() => {});
if (inv.json) process.stdout.write(`${JSON.stringify(result.json, null, 2)}\n`);
else (result.code === EXIT.ok ? process.stdout : process.stderr).write(`${result.text}\n`);
process.exit(result.code);
