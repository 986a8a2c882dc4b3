import { describe, expect, it } from 'vitest';
import { formatLoginFile } from '../launcher/login-file.js';
import { resolveLogin } from '../ctl/login.js';

const FILE = '/repo/.vigil/nats-operator.env';

describe("./vigil ctl's login", () => {
  it("uses the login ./vigil start wrote, with the operator's inbox", () => {
    const text = formatLoginFile({ url: 'nats://127.0.0.1:40000', user: 'operator', pass: 'vabc' });
    expect(resolveLogin({}, text, FILE)).toEqual({
      ok: true,
      login: {
        url: 'nats://127.0.0.1:40000',
        user: 'operator',
        pass: 'vabc',
        inboxPrefix: '_INBOX.operator',
        tlsCaFile: null,
        source: FILE,
      },
    });
  });

  it('prefers NATS_URL with NATS_USER, NATS_PASS and NATS_TLS_CA over the file', () => {
    const env = { NATS_URL: 'tls://nats:4222', NATS_USER: 'operator', NATS_PASS: 'p', NATS_TLS_CA: '/ca.crt' };
    expect(resolveLogin(env, 'NATS_URL=nats://elsewhere:1\n', FILE)).toEqual({
      ok: true,
      login: {
        url: 'tls://nats:4222',
        user: 'operator',
        pass: 'p',
        inboxPrefix: '_INBOX.operator',
        tlsCaFile: '/ca.crt',
        source: 'NATS_URL as operator',
      },
    });
    // A server without users: no credentials, replies still on _INBOX.operator; NATS_INBOX_PREFIX overrides.
    expect(resolveLogin({ NATS_URL: 'nats://x:1' }, null, FILE)).toMatchObject({
      ok: true,
      login: { user: null, pass: null, inboxPrefix: '_INBOX.operator' },
    });
    expect(resolveLogin({ NATS_URL: 'nats://x:1', NATS_INBOX_PREFIX: '_INBOX.me' }, null, FILE)).toMatchObject({
      login: { inboxPrefix: '_INBOX.me' },
    });
  });

  it('says what to do when there is no login, or the file is incomplete', () => {
    const none = resolveLogin({}, null, FILE);
    expect(none.ok).toBe(false);
    expect(!none.ok && none.error).toMatch(/nats-operator\.env is missing.*set NATS_URL with NATS_USER=operator/);
    const partial = resolveLogin({}, 'NATS_URL=nats://x:1\n', FILE);
    expect(!partial.ok && partial.error).toMatch(/lacks NATS_USER, NATS_PASSWORD: restart \.\/vigil start/);
  });
});
