import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('the watchdog process', () => {
  it('exits with code 2 and names each bad variable, hiding a secret value', async () => {
    const child = spawn(process.execPath, ['--conditions=vigil-source', '--import', 'tsx', main], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      // Port 1 is never a NATS server: the process must stop on config before trying it.
      env: {
        PATH: process.env.PATH,
        NATS_URL: 'nats://127.0.0.1:1',
        FLATTEN_POLICY: 'yolo',
        NO_BAR_ALERT_MS: 'two minutes',
        ALERT_WEBHOOK_URL: 'ftp://hooks.example/secret-path',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/FLATTEN_POLICY/);
    expect(err).toMatch(/NO_BAR_ALERT_MS: expected a whole number/);
    expect(err).toMatch(/ALERT_WEBHOOK_URL: expected an http\(s\) URL \(got \[hidden\]\)/);
    expect(err).not.toContain('secret-path');
  });
});
