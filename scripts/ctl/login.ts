import { natsInboxPrefix } from '@vigil/service-kit';
import { parseLoginFile } from '../launcher/login-file.js';

/** Where and as whom `./vigil ctl` connects. */
export interface CtlLogin {
  url: string;
  user: string | null;
  pass: string | null;
  /** Replies come here: `_INBOX.operator` for the operator (or no user), the only inbox auth.conf lets it read. */
  inboxPrefix: string;
  tlsCaFile: string | null;
  /** Said when a connection fails, so the person knows which login was tried. */
  source: string;
}

/**
 * The login to use: NATS_URL (with NATS_USER, NATS_PASS, NATS_TLS_CA, NATS_INBOX_PREFIX) when set, else the
 * operator login `./vigil start` wrote (`fileText`, null when there is no such file). Pure.
 */
export function resolveLogin(
  env: Record<string, string | undefined>,
  fileText: string | null,
  filePath: string,
): { ok: true; login: CtlLogin } | { ok: false; error: string } {
  if (env.NATS_URL) {
    const user = env.NATS_USER || null;
    return {
      ok: true,
      login: {
        url: env.NATS_URL,
        user,
        pass: user ? (env.NATS_PASS ?? '') : null,
        inboxPrefix: natsInboxPrefix(user ?? 'operator', env.NATS_INBOX_PREFIX || undefined)!,
        tlsCaFile: env.NATS_TLS_CA || null,
        source: `NATS_URL${user ? ` as ${user}` : ' without a user'}`,
      },
    };
  }
  if (fileText === null)
    return {
      ok: false,
      error: `no NATS login: ${filePath} is missing, so ./vigil start is not running here. Start it, or set NATS_URL with NATS_USER=operator and NATS_PASS (and NATS_TLS_CA for TLS).`,
    };
  const parsed = parseLoginFile(fileText);
  if (!parsed.ok)
    return {
      ok: false,
      error: `${filePath} lacks ${parsed.missing.join(', ')}: restart ./vigil start to write it again, or set NATS_URL`,
    };
  const { url, user, pass } = parsed.login;
  return {
    ok: true,
    login: { url, user, pass, inboxPrefix: natsInboxPrefix(user)!, tlsCaFile: null, source: filePath },
  };
}
