import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, spawnNatsServer } from '@vigil/service-kit';
import { waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServicePlan } from './plan.js';
import { parentDeathWrapper, ServiceProcess } from './processes.js';

// A stand-in service: says its pid, and on a signal says how many it got and exits 0.
const SERVICE = `
let signals = 0;
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => { signals += 1; console.log('got ' + s + ' #' + signals); setTimeout(() => process.exit(0), 50); });
console.log('pid ' + process.pid);
setInterval(() => {}, 1000);
`;

/** Running, not a zombie (an orphan's exit may wait for a reaper that never comes). */
const processGroup = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2];

const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
};

describe.runIf(process.platform === 'linux')('service processes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-launcher-'));
    await writeFile(join(dir, 'service.cjs'), SERVICE);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs each service in its own process group and stops it with one SIGTERM', async () => {
    const plan: ServicePlan = { name: 'strategy', entry: join(dir, 'service.cjs'), env: {} };
    const log = join(dir, 'strategy.log');
    const p = new ServiceProcess(plan, log, () => {});
    p.start();
    const [, pid] = await waitFor('the service to log its pid', async () =>
      /pid (\d+)/.exec(await readFile(log, 'utf8').catch(() => '')),
    );
    // Its own group: a terminal's Ctrl-C, sent to the launcher's group, does not reach it.
    expect(processGroup(Number(pid))).toBe(pid);
    expect(await p.stop()).toBe('code 0');
    expect(await readFile(log, 'utf8')).toMatch(/got SIGTERM #1\n$/);
    expect(p.state).toBe('stopped');
  });

  it('a child under the parent-death wrapper gets SIGTERM when its parent is SIGKILLed', async () => {
    const wrapper = parentDeathWrapper(findBinary('setpriv'));
    expect(wrapper).toContain('--pdeathsig');
    // A stand-in launcher: starts one detached child under the wrapper, prints its pid, and waits.
    const launcher = spawn(
      process.execPath,
      [
        '-e',
        `const [c, ...a] = [...JSON.parse(process.argv[1]), process.execPath, process.argv[2]];
         const child = require('node:child_process').spawn(c, a, { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
         child.stdout.once('data', () => console.log(child.pid));
         setInterval(() => {}, 1000);`,
        JSON.stringify(wrapper),
        join(dir, 'service.cjs'),
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    launcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const child = Number(
      await waitFor("the stand-in launcher to print its child's pid", () => /^(\d+)\n/.exec(out)?.[1]),
    );
    try {
      expect(alive(child)).toBe(true);
      launcher.kill('SIGKILL');
      await waitFor('the child to exit once its parent is killed', () => !alive(child));
    } finally {
      if (alive(child)) process.kill(child, 'SIGKILL');
    }
  });

  it.runIf(findBinary() !== null)(
    'runs the private nats-server in its own process group under the wrapper',
    async () => {
      const natsDir = await mkdtemp(join(tmpdir(), 'vigil-launcher-nats-'));
      const nats = await spawnNatsServer(findBinary()!, {
        dir: natsDir,
        jetstream: false,
        detached: true,
        wrapper: parentDeathWrapper(findBinary('setpriv')),
      });
      try {
        // The ports file is named for the pid nats-server runs as: the wrapper must exec it, not fork it.
        const pid = Number(
          /^nats-server_(\d+)\.ports$/.exec((await readdir(natsDir)).find((f) => f.endsWith('.ports'))!)![1],
        );
        expect(processGroup(pid)).toBe(String(pid));
        expect((await fetch(`${nats.monitorUrl}/healthz`)).ok).toBe(true);
      } finally {
        await nats.cleanup();
        await rm(natsDir, { recursive: true, force: true });
      }
    },
  );
});
