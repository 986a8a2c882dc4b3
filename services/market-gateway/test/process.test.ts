import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { startSim, type Sim } from '@vigil/alpaca-sim';
import { decodeOn, HealthReport, healthSubject } from '@vigil/contracts';
import { packageVersion } from '@vigil/service-kit';
import { startNats, waitFor, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
let server: NatsServerHandle;
let sim: Sim;
beforeAll(async () => {
  server = await startNats({ own: true });
  sim = await startSim({ symbols: ['SPY', 'AAPL'], clock: { msPerMinute: 300 }, serverPingIntervalMs: 500 });
});
afterAll(async () => {
  await sim?.close();
  await server?.cleanup();
});

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--conditions=vigil-source', '--import', 'tsx', main], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, exited, out: () => out, err: () => err };
}

describe('market-gateway as a process', () => {
  it('exits 2 naming every bad variable (and hiding secrets) before connecting anywhere', async () => {
    const p = run({
      NATS_URL: 'nats://127.0.0.1:1',
      APCA_API_SECRET_KEY: 'topsecret-value',
      ALPACA_FEED: 'nasdaq',
      PING_INTERVAL_MS: 'often',
      ALPACA_STREAM_URL: 'http://x',
    });
    expect(await p.exited).toBe(2);
    expect(p.err()).toMatch(/APCA_API_KEY_ID: required/);
    expect(p.err()).toMatch(/ALPACA_FEED: .*\(got "nasdaq"\)/);
    expect(p.err()).toMatch(/PING_INTERVAL_MS: expected a whole number/);
    expect(p.err()).toMatch(/ALPACA_STREAM_URL: expected a ws\(s\) URL/);
    expect(p.err()).not.toContain('topsecret-value');
  });

  it('streams from the simulator, reports ready and healthy, keeps the keys out of its logs, and stops cleanly on SIGTERM', async () => {
    const nc = await connect({ servers: server.url });
    const reports: HealthReport[] = [];
    nc.subscribe(healthSubject('market-gateway'), {
      callback: (_e, m) => {
        const d = decodeOn(HealthReport, m.subject, m.data);
        if (d.ok) reports.push(d.value);
      },
    });
    await nc.flush();
    const { keyId, secret } = sim.credentials;
    const p = run({
      NATS_URL: server.url,
      APCA_API_KEY_ID: keyId,
      APCA_API_SECRET_KEY: secret,
      ALPACA_STREAM_URL: sim.wsUrl,
      ALPACA_DATA_URL: sim.url,
      ALPACA_TRADING_URL: sim.url,
      SYMBOLS: 'SPY,AAPL',
      HTTP_PORT: '0',
      CLOCK_REFRESH_MS: '500',
      LOG_LEVEL: 'debug',
      HEALTH_INTERVAL_MS: '200',
    });
    await waitFor('the HTTP server', () => /"url":"(http:[^"]+)"/.test(p.out()), { timeoutMs: 20_000 });
    const url = /"url":"(http:[^"]+)"/.exec(p.out())![1]!;
    // Alone, it takes the gateway lease and streams.
    await waitFor(
      'streaming',
      async () =>
        /vigil_gateway_state\{state="streaming",service="market-gateway"\} 1/.test(
          await fetch(`${url}/metrics`).then(
            (r) => r.text(),
            () => '',
          ),
        ),
      { timeoutMs: 20_000 },
    );
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/vigil_gateway_leader\{service="market-gateway"\} 1/);
    // Its first reports may come from the moment it stood by, before its first read of the lease.
    const ok = await waitFor('an ok health report while leading', () =>
      reports.find((r) => r.status === 'ok' && r.figures.leader === 1),
    );
    expect(ok).toMatchObject({
      service: 'market-gateway',
      version: packageVersion(import.meta.url),
      figures: { streaming: 1, leader: 1 },
    });
    expect(ok.notes[0]).toMatch(/^feed streaming/);
    await nc.close();
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.out()).toContain('"msg":"stopped"');
    expect(p.out()).not.toContain(secret);
  });
});
