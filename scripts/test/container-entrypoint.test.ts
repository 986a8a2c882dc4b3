// The image's command and HEALTHCHECK (infra/docker/entrypoint.mjs), run as Docker runs them but on the host,
// against a stand-in service on a random loopback port. The image itself is built and started by hand
// (BENCHMARKS.md, "Container image"): CI has no Docker engine.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const entrypoint = join(root, 'infra', 'docker', 'entrypoint.mjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [entrypoint, ...args],
      { cwd: root, timeout: 15_000, env: { PATH: process.env.PATH ?? '', ...env } },
      (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

let server: Server | undefined;
const paths: string[] = [];

/** A stand-in service answering every request with `status`; returns its port. */
async function serve(status: number): Promise<number> {
  server = createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(status).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

afterEach(async () => {
  paths.length = 0;
  if (server?.listening) await new Promise((done) => server!.close(done));
  server = undefined;
});

describe('entrypoint.mjs health (the image HEALTHCHECK)', () => {
  it.each(['market-gateway', 'strategy', 'executor', 'watchdog'])(
    '%s: healthy when /healthz on HTTP_PORT answers 200',
    async (service) => {
      const port = await serve(200);
      const r = await run(['health'], { VIGIL_SERVICE: service, HTTP_PORT: String(port) });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(paths).toEqual(['/healthz']);
    },
  );

  it('alpaca-sim: asks /sim/status on SIM_PORT, not HTTP_PORT', async () => {
    const port = await serve(200);
    const r = await run(['health'], { VIGIL_SERVICE: 'alpaca-sim', SIM_PORT: String(port), HTTP_PORT: '1' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(paths).toEqual(['/sim/status']);
  });

  it('unhealthy on a non-2xx answer, saying what it got', async () => {
    const port = await serve(503);
    const r = await run(['health'], { VIGIL_SERVICE: 'watchdog', HTTP_PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`http://127.0.0.1:${port}/healthz → 503`);
  });

  it('unhealthy when nothing listens, saying why', async () => {
    const port = await serve(200);
    await new Promise((done) => server!.close(done));
    const r = await run(['health'], { VIGIL_SERVICE: 'strategy', HTTP_PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/failed: .*ECONNREFUSED/);
  });
});

describe('entrypoint.mjs (the image command)', () => {
  it.each<Record<string, string>>([
    {},
    { VIGIL_SERVICE: '' },
    { VIGIL_SERVICE: 'toString' },
    { VIGIL_SERVICE: 'gateway' },
  ])('exits 2 (bad configuration) naming the choices when VIGIL_SERVICE is %j', async (env) => {
    for (const args of [[], ['health']]) {
      const r = await run(args, env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('set it to one of market-gateway, strategy, executor, watchdog, alpaca-sim');
    }
  });
});
