import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { pingReceiver, waitFor } from '@vigil/service-kit/testing';
import { describe, expect, it } from 'vitest';
import { alertCollector, fakeBroker, fakeGateway, natsSuite, reconnected, runWatchdog } from './harness.js';

const suite = natsSuite();
const later = suite.later;

const SECRET_PATH = '/ping/4b1e-very-secret-uuid';

describe("dead man's switch", () => {
  it('pings while all is well, the fail form while a critical incident is open, nothing while NATS is away', async () => {
    const receiver = later(await pingReceiver());
    const collector = later(await alertCollector(suite.server.url));
    const gateway = later(await fakeGateway(suite.server.url));
    const wd = later(
      await runWatchdog(suite.server.url, fakeBroker('open').source, {
        DEADMAN_URL: `${receiver.base}${SECRET_PATH}`,
        DEADMAN_INTERVAL_MS: '100',
        DEADMAN_TIMEOUT_MS: '500',
      }),
    );
    await waitFor('ok pings', () => receiver.paths.filter((p) => p === SECRET_PATH).length >= 3);
    expect(receiver.paths).not.toContain(`${SECRET_PATH}/fail`);

    // Data stops: no_bar opens a critical incident, and the outside service is told so.
    gateway.bars = false;
    await waitFor('no_bar', () => collector.of('no_bar', 'open')[0]);
    await waitFor('fail pings', () => receiver.paths.filter((p) => p === `${SECRET_PATH}/fail`).length >= 2);

    // Data back and the incident resolved: ok pings again.
    gateway.bars = true;
    await waitFor('resumed', () => collector.of('resumed', 'resolved')[0], { timeoutMs: 10_000 });
    const afterResolve = receiver.paths.length;
    await waitFor('ok pings again', () => receiver.paths.slice(afterResolve + 1).includes(SECRET_PATH));
    expect(receiver.paths.slice(afterResolve + 1)).not.toContain(`${SECRET_PATH}/fail`);

    // NATS gone: the switch goes silent, so its service pages; with NATS back, pings resume.
    await suite.server.stop();
    const skipped = async () =>
      Number(
        /vigil_watchdog_deadman_pings_total\{form="none",outcome="skipped",service="watchdog"\} (\d+)/.exec(
          await wd.metrics.registry.metrics(),
        )?.[1] ?? 0,
      );
    await waitFor('a skipped ping', async () => (await skipped()) >= 1);
    const whileAway = receiver.paths.length;
    const skippedBefore = await skipped();
    await waitFor('more skipped pings', async () => (await skipped()) >= skippedBefore + 5);
    expect(receiver.paths.length).toBe(whileAway);
    await suite.server.start();
    await reconnected(wd.nc);
    await waitFor('pings after NATS is back', () => receiver.paths.length > whileAway, { timeoutMs: 10_000 });

    // The URL is a credential: it never reaches the log.
    expect(wd.log.text()).not.toContain('very-secret-uuid');
  });

  it('a failing ping is counted every time and logged once, without its URL, and blocks nothing', async () => {
    const receiver = later(await pingReceiver());
    receiver.status = 503;
    const wd = later(
      await runWatchdog(suite.server.url, fakeBroker('open').source, {
        DEADMAN_URL: `${receiver.base}${SECRET_PATH}`,
        DEADMAN_INTERVAL_MS: '100',
      }),
    );
    later(await fakeGateway(suite.server.url));
    await waitFor('failed pings', async () =>
      /vigil_watchdog_deadman_pings_total\{form="ok",outcome="error",service="watchdog"\} ([4-9]|\d\d+)/.test(
        await wd.metrics.registry.metrics(),
      ),
    );
    const failed = wd.log.lines().filter((l) => /ping failed/.test(String(l.msg)));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ form: 'ok', problem: 'HTTP 503' });
    // The rules carry on meanwhile.
    await waitFor('bars seen', () => wd.watchdog.status().barsPerMinute > 3);

    receiver.status = 200;
    await waitFor('delivered again', () => wd.log.lines().some((l) => /ping delivered again/.test(String(l.msg))));
    expect(wd.log.text()).not.toContain('very-secret-uuid');
  });

  it('stops when the watchdog process is killed with SIGKILL', async () => {
    const receiver = later(await pingReceiver());
    const child = spawn(
      process.execPath,
      ['--conditions=vigil-source', '--import', 'tsx', fileURLToPath(new URL('../src/main.ts', import.meta.url))],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: {
          PATH: process.env.PATH,
          NATS_URL: suite.server.url,
          HTTP_PORT: '0',
          APCA_API_KEY_ID: 'SIMKEY',
          APCA_API_SECRET_KEY: 'SIMSECRET',
          // No broker here: the phase is unknown, which changes nothing for the switch.
          ALPACA_TRADING_URL: 'http://127.0.0.1:1',
          DEADMAN_URL: `${receiver.base}${SECRET_PATH}`,
          DEADMAN_INTERVAL_MS: '100',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((ok) => child.once('exit', (_code, signal) => ok(signal)));
    later({ stop: async () => child.kill('SIGKILL') });
    await waitFor('pings from the process', () => receiver.paths.length >= 3, { timeoutMs: 20_000 });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    // A request already on the wire may still be read; after that, silence for many intervals.
    await sleep(300);
    const atDeath = receiver.paths.length;
    await sleep(1_500);
    expect(receiver.paths.length).toBe(atDeath);
  });
});
