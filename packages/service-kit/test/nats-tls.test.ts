// TLS between the services and NATS, over a real nats-server running the committed infra/nats/tls.conf with
// a CA and server certificate from scripts/nats-certs.sh, all in a temp dir.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as z from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseConfig, parseConfig } from '../src/config.js';
import { ConfigError, NatsConnectError } from '../src/errors.js';
import { Metrics } from '../src/metrics.js';
import { connectNats } from '../src/nats.js';
import { findBinary } from '../src/nats-server-process.js';
import { captureLogger } from '../src/testing/log-capture.js';
import { startNats, type NatsServerHandle } from '../src/testing/nats-server.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const fixture = fileURLToPath(new URL('./fixtures/minimal-service.ts', import.meta.url));

let dir: string;
let certs: string;
let otherCa: string;
let tlsServer: NatsServerHandle;
let tlsUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-nats-tls-'));
  certs = join(dir, 'certs');
  await run('bash', [join(root, 'scripts', 'nats-certs.sh'), certs]);
  // Another CA, as a service given the wrong file would have.
  await run('bash', [join(root, 'scripts', 'nats-certs.sh'), join(dir, 'other')]);
  otherCa = join(dir, 'other', 'ca.crt');
  tlsServer = await startNats({ own: true, jetstream: false, extraConfig: await committedTlsConf() });
  tlsUrl = tlsServer.url.replace(/^nats:/, 'tls:');
});
afterAll(async () => {
  await tlsServer?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** infra/nats/tls.conf as committed, its /etc/nats-tls mount pointed at the script's output. */
async function committedTlsConf(): Promise<string> {
  const conf = await readFile(join(root, 'infra', 'nats', 'tls.conf'), 'utf8');
  expect(conf).toContain('/etc/nats-tls/');
  return conf.replaceAll('/etc/nats-tls/', `${certs}/nats/`);
}

const quiet = () => ({ logger: captureLogger().logger, metrics: new Metrics('tls', { defaultMetrics: false }) });

/** What a client that speaks no TLS hears after sending CONNECT and PING, until the server closes: its INFO, then the rest. */
function plainClient(port: number): Promise<{ info: { tls_required?: boolean }; reply: string }> {
  return new Promise((done, fail) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let text = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer; got ${JSON.stringify(text)}`)));
    socket.on('data', (d: Buffer) => {
      const first = !text;
      text += d.toString();
      if (first) socket.write('CONNECT {"verbose":false,"pedantic":false,"tls_required":false}\r\nPING\r\n');
    });
    socket.on('error', fail);
    socket.on('close', () => {
      const [infoLine = '', ...rest] = text.split('\r\n');
      done({ info: JSON.parse(infoLine.replace(/^INFO /, '')) as { tls_required?: boolean }, reply: rest.join('\n') });
    });
  });
}

describe('NATS over TLS (infra/nats/tls.conf, scripts/nats-certs.sh)', () => {
  it('connects over tls:// and verifies the server against NATS_TLS_CA', async () => {
    const nc = await connectNats({ url: tlsUrl, name: 'tls-ok', tlsCaFile: join(certs, 'ca.crt'), ...quiet() });
    expect(nc.info?.tls_required).toBe(true);
    const connz = (await (await fetch(`${tlsServer.monitorUrl}/connz`)).json()) as {
      connections: { name: string; tls_version?: string }[];
    };
    expect(connz.connections.find((c) => c.name === 'tls-ok')?.tls_version).toMatch(/^1\.[23]$/);
    await nc.drain();
  });

  it('refuses a server it cannot verify, at once and saying what to change: no CA (the system roots), a wrong CA', async () => {
    const started = Date.now();
    const noCa = connectNats({ url: tlsUrl, name: 'tls-no-ca', ...quiet() });
    await expect(noCa).rejects.toBeInstanceOf(NatsConnectError);
    await expect(noCa).rejects.toThrow(
      /TLS certificate is not trusted .*set NATS_TLS_CA to the file of the CA that signed it/,
    );

    const wrong = connectNats({ url: tlsUrl, name: 'tls-wrong-ca', tlsCaFile: otherCa, ...quiet() });
    await expect(wrong).rejects.toBeInstanceOf(NatsConnectError);
    await expect(wrong).rejects.toThrow(`NATS_TLS_CA (${otherCa}) is not the CA that signed it`);
    // Not retried until a deadline: a wrong certificate does not fix itself.
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('refuses a client that does not speak TLS', async () => {
    const { info, reply } = await plainClient(tlsServer.port);
    expect(info.tls_required).toBe(true);
    // It expected a TLS handshake, got plain text and hung up: no PONG, no +OK, nothing after its INFO.
    expect(reply).toBe('');
  });

  it('requires TLS for a tls:// URL: a server without it is refused, not used in the clear', async () => {
    const plain = await startNats({ own: true, jetstream: false });
    try {
      const attempt = connectNats({ url: plain.url.replace(/^nats:/, 'tls:'), name: 'tls-downgrade', ...quiet() });
      await expect(attempt).rejects.toThrow(NatsConnectError);
      await expect(attempt).rejects.toThrow(/server offers no TLS/);
    } finally {
      await plain.cleanup();
    }
  });

  it('rejects NATS_TLS_CA naming no readable certificate as configuration, naming the variable', () => {
    const schema = z.object(baseConfig);
    expect(parseConfig(schema, { NATS_TLS_CA: join(certs, 'ca.crt') }).NATS_TLS_CA).toBe(join(certs, 'ca.crt'));
    expect(() => parseConfig(schema, { NATS_TLS_CA: join(dir, 'missing.crt') })).toThrow(ConfigError);
    expect(() => parseConfig(schema, { NATS_TLS_CA: join(dir, 'missing.crt') })).toThrow(
      /NATS_TLS_CA: cannot read the file \(ENOENT\)/,
    );
    expect(() => parseConfig(schema, { NATS_TLS_CA: certs })).toThrow(/NATS_TLS_CA: cannot read the file \(EISDIR\)/);
    expect(() => parseConfig(schema, { NATS_TLS_CA: join(certs, 'ca.key') })).toThrow(
      /NATS_TLS_CA: expected a PEM certificate file/,
    );
  });

  it('a service given no CA for a private one exits 1 with one log line saying so, not a stack trace', async () => {
    const child = spawn(process.execPath, ['--conditions=vigil-source', '--import', 'tsx', fixture], {
      env: { PATH: process.env.PATH, NATS_URL: tlsUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    expect(code).toBe(1);
    const fatal = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number | string; msg: string; err?: unknown })
      .filter((l) => l.level === 60 || l.level === 'fatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!.msg).toMatch(/^cannot connect to NATS at tls:.*set NATS_TLS_CA/);
    expect(fatal[0]!.err).toBeUndefined();
    expect(err).not.toMatch(/\n\s+at /);
  });

  it("the compose and Kubernetes config (nats.conf with auth.conf and tls.conf) loads in nats-server with the script's certificates", async () => {
    const binary = findBinary();
    expect(binary).not.toBeNull();
    const conf = join(dir, 'conf');
    await run('mkdir', ['-p', conf]);
    for (const f of ['nats.conf', 'auth.conf']) await copyFile(join(root, 'infra', 'nats', f), join(conf, f));
    await writeFile(join(conf, 'tls.conf'), await committedTlsConf());
    const passwords = Object.fromEntries(
      ['GATEWAY', 'STRATEGY', 'EXECUTOR', 'WATCHDOG', 'OPS', 'OPERATOR'].map((u) => [
        `VIGIL_${u}_PASS`,
        `p${u.toLowerCase()}1`,
      ]),
    );
    const { stdout, stderr } = await run(binary!, ['-c', join(conf, 'nats.conf'), '-t'], { env: { ...passwords } });
    expect(`${stdout}${stderr}`).toMatch(/is valid/);
  });
});
