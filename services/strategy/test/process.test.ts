import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

it('exits with code 2 and names every bad variable, before connecting anywhere', async () => {
  const child = spawn(process.execPath, ['--conditions=vigil-source', '--import', 'tsx', main], {
    // Port 1 is never a NATS server: had config passed, the process would hang connecting instead of exiting 2.
    env: {
      PATH: process.env.PATH,
      NATS_URL: 'nats://127.0.0.1:1',
      STRATEGY: 'yolo',
      MAX_SIGNAL_AGE_MS: 'soon',
      MA_FAST: '30',
      MA_SLOW: '10',
      SIGNAL_SOURCES: 'live,rumour',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(2);
  expect(err).toMatch(/STRATEGY: expected one of ma_cross, momentum \(got "yolo"\)/);
  expect(err).toMatch(/MAX_SIGNAL_AGE_MS: expected a whole number/);
  expect(err).toMatch(/APCA_API_SECRET_KEY: required/);
  expect(err).toMatch(/SIGNAL_SOURCES\.1: .*live.*backfill.*poll/);
  expect(err).toMatch(/each README has a configuration table/);
});
