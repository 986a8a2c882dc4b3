/**
 * The NATS login `./vigil start` leaves for people on this machine (`.vigil/nats-ops.env`,
 * `.vigil/nats-operator.env`, mode 0600): shell `KEY=value` lines with the names the nats CLI reads
 * (NATS_URL, NATS_USER, NATS_PASSWORD), so `set -a; . .vigil/nats-ops.env` works too.
 */
export interface NatsLogin {
  url: string;
  user: string;
  pass: string;
}

/** Where the login of `user` is written under the repository root. */
export function loginFilePath(root: string, user: 'ops' | 'operator'): string {
  return `${root}/.vigil/nats-${user}.env`;
}

export function formatLoginFile(login: NatsLogin): string {
  return `NATS_URL=${login.url}\nNATS_USER=${login.user}\nNATS_PASSWORD=${login.pass}\n`;
}

/** The login in `text`, or what is missing from it. Blank lines and `#` comments are skipped. */
export function parseLoginFile(text: string): { ok: true; login: NatsLogin } | { ok: false; missing: string[] } {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z_]+)=(.*?)\s*$/.exec(line);
    if (m && !line.trimStart().startsWith('#')) vars.set(m[1]!, m[2]!);
  }
  const missing = ['NATS_URL', 'NATS_USER', 'NATS_PASSWORD'].filter((k) => !vars.get(k));
  if (missing.length) return { ok: false, missing };
  return {
    ok: true,
    login: { url: vars.get('NATS_URL')!, user: vars.get('NATS_USER')!, pass: vars.get('NATS_PASSWORD')! },
  };
}
