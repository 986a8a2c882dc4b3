import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { decodeOn, HealthReport, healthSubject } from '@vigil/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, type NatsServerHandle } from '../src/testing/nats-server.js';
import { waitFor } from '../src/testing/wait-for.js';

const fixture = fileURLToPath(new URL('./fixtures/minimal-service.ts', import.meta.url));
let server: NatsServerHandle;
beforeAll(async () => {
  server = await startNats({ own: true });
});
afterAll(async () => server?.cleanup());

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--conditions=vigil-source', '--import', 'tsx', fixture], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = async () => {
    const deadline = Date.now() + 20_000;
    while (!out.includes('READY')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`fixture did not start: ${out}${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return /READY (\S+)/.exec(out)![1]!;
  };
  return { child, exited, ready, out: () => out, err: () => err };
}

describe('a service process', () => {
  it('exits with code 2 and names the variable on bad config, before connecting anywhere', async () => {
    const p = run({ NATS_URL: server.url, HTTP_PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(await p.exited).toBe(2);
    expect(p.err()).toMatch(/HTTP_PORT: expected a whole number \(got "eighty"\)/);
    expect(p.err()).toMatch(/LOG_LEVEL/);
    const connz = (await (await fetch(`${server.monitorUrl}/connz`)).json()) as { num_connections: number };
    expect(connz.num_connections).toBe(0);
  });

  it('serves health, reports it on health.<service>, then on SIGTERM stops work, drains NATS and exits 0', async () => {
    const nc = await connect({ servers: server.url });
    const reports: HealthReport[] = [];
    nc.subscribe(healthSubject('fixture'), {
      callback: (_e, m) => {
        const d = decodeOn(HealthReport, m.subject, m.data);
        if (d.ok) reports.push(d.value);
      },
    });
    await nc.flush();
    const p = run({ NATS_URL: server.url, FIXTURE_SECRET: 'hunter2-very-secret', HEALTH_INTERVAL_MS: '100' });
    const url = await p.ready();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    // The first report may come before main.ts said it is wired (degraded: starting up); later ones are ok.
    const ok = await waitFor('an ok health report', () => reports.find((r) => r.status === 'ok'));
    expect(ok).toMatchObject({ service: 'fixture', version: '0.0.1-fixture', figures: { answer: 42 }, notes: [] });
    await nc.close();
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const msgs = p
      .out()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toEqual(expect.arrayContaining(['service started', 'shutting down', 'work stopped', 'stopped']));
    expect(msgs.indexOf('work stopped')).toBeLessThan(msgs.indexOf('stopped'));
    expect(p.out()).not.toContain('hunter2-very-secret');
  });
});
