import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

async function run(env: Record<string, string>): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, ['--conditions=vigil-source', '--import', 'tsx', cli, '--port', '0'], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, err };
}

it('refuses a chaos file that is not JSON, or not a schedule, with exit 2 and the reason, not a stack trace', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sim-cli-'));
  try {
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '[{"atMinute": 5,');
    const notJson = await run({ SIM_CHAOS_FILE: broken });
    expect(notJson.code).toBe(2);
    expect(notJson.err).toMatch(/cannot read SIM_CHAOS_FILE .*broken\.json as JSON/);
    expect(notJson.err).not.toMatch(/\n\s+at /);

    const wrong = join(dir, 'wrong.json');
    await writeFile(wrong, JSON.stringify([{ atMinute: -1, fault: 'nope' }]));
    const notSchedule = await run({ SIM_CHAOS_FILE: wrong });
    expect(notSchedule.code).toBe(2);
    expect(notSchedule.err).toMatch(/is not a chaos schedule/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
