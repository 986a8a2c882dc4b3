import { describe, expect, it } from 'vitest';
import { formatLoginFile, loginFilePath, parseLoginFile } from './login-file.js';

describe('the login file ./vigil start writes for people', () => {
  it('reads back what it wrote', () => {
    const login = { url: 'nats://127.0.0.1:41234', user: 'operator', pass: 'v0123abc' };
    expect(formatLoginFile(login)).toBe(
      'NATS_URL=nats://127.0.0.1:41234\nNATS_USER=operator\nNATS_PASSWORD=v0123abc\n',
    );
    expect(parseLoginFile(formatLoginFile(login))).toEqual({ ok: true, login });
  });

  it('skips comments and blank lines, and names what is missing', () => {
    expect(parseLoginFile('# a comment\n\nNATS_URL=nats://x:1\nNATS_USER=operator\n')).toEqual({
      ok: false,
      missing: ['NATS_PASSWORD'],
    });
    expect(parseLoginFile('#NATS_URL=nats://x:1\nNATS_USER=\n')).toEqual({
      ok: false,
      missing: ['NATS_URL', 'NATS_USER', 'NATS_PASSWORD'],
    });
  });

  it('lives under .vigil, one file per user', () => {
    expect(loginFilePath('/repo', 'operator')).toBe('/repo/.vigil/nats-operator.env');
    expect(loginFilePath('/repo', 'ops')).toBe('/repo/.vigil/nats-ops.env');
  });
});
