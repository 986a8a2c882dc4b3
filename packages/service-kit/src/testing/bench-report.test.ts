import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { benchSetting, reportBench, summarize, writeBenchSection } from './bench-report.js';

describe('summarize', () => {
  it('gives nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(summarize(values)).toEqual({ count: 100, p50: 50, p99: 99, max: 100 });
  });
  it('marks an empty sample as NaN rather than zero', () => {
    expect(summarize([]).p50).toBeNaN();
  });
});

describe('writeBenchSection', () => {
  let dir = '';
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('creates the file, then replaces only its own section', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'bench-'));
    const file = path.join(dir, 'BENCHMARKS.md');
    await writeBenchSection(file, 'a', '## A\nfirst');
    await writeBenchSection(file, 'b', '## B\nother');
    await writeBenchSection(file, 'a', '## A\nsecond');
    const text = await readFile(file, 'utf8');
    expect(text).toContain('second');
    expect(text).not.toContain('first');
    expect(text.indexOf('## A')).toBeLessThan(text.indexOf('## B'));
    expect(text.match(/bench:a -->/g)).toHaveLength(2);
  });
});

describe('reportBench', () => {
  let dir = '';
  afterEach(async () => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the section and writes it, or only prints it under BENCH_NO_WRITE=1', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'bench-'));
    const file = path.join(dir, 'BENCHMARKS.md');
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => printed.push(String(chunk)) > 0);
    const said: string[] = [];
    vi.stubEnv('BENCH_NO_WRITE', '1');
    await reportBench(file, 'a', '## A\nlooked', (l) => said.push(l));
    await expect(readFile(file, 'utf8')).rejects.toThrow(/ENOENT/);
    vi.stubEnv('BENCH_NO_WRITE', '');
    await reportBench(file, 'a', '## A\nkept', (l) => said.push(l));
    expect(await readFile(file, 'utf8')).toContain('## A\nkept');
    expect(printed).toEqual(['## A\nlooked\n', '## A\nkept\n']);
    expect(said).toEqual([`BENCH_NO_WRITE=1: ${file} left as it was`, `written to ${file}`]);
  });
});

describe('benchSetting', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('takes a whole number from the environment, or the default when unset', () => {
    expect(benchSetting('BENCH_TEST_KNOB', 8)).toBe(8);
    vi.stubEnv('BENCH_TEST_KNOB', '3');
    expect(benchSetting('BENCH_TEST_KNOB', 8)).toBe(3);
  });

  it('stops the run with exit code 2 on anything else, naming the variable', () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(((code: number) => {
      throw new Error(`exit ${code}`);
    }) as never);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    for (const bad of ['abc', '2.5', '0']) {
      vi.stubEnv('BENCH_TEST_KNOB', bad);
      expect(() => benchSetting('BENCH_TEST_KNOB', 8)).toThrow('exit 2');
    }
    expect(exit).toHaveBeenCalledTimes(3);
    expect(String(err.mock.calls[0]![0])).toContain('BENCH_TEST_KNOB must be a whole number');
  });
});
