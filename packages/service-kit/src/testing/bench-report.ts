import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles; an empty sample gives NaN so a missing figure shows in the table as such. */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : Number.NaN;
  return {
    count: sorted.length,
    p50: rank(50),
    p99: rank(99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/**
 * A whole-number knob from the environment for a benchmark run (`BENCH_ROUNDS=2`), or its default. Anything
 * else stops the run with a message naming the variable, rather than measuring a run nobody asked for.
 */
export function benchSetting(name: string, def: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`${name} must be a whole number, at least ${min} (got ${raw})\n`);
    process.exit(2);
  }
  return value;
}

/** One line naming the machine, so figures from different machines are never compared blindly. */
export function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/**
 * Replaces the section named `name` in a Markdown file (between `<!-- bench:name -->` markers), or appends it.
 * Each benchmark owns one section, so reruns update their figures without touching the others'.
 */
export async function writeBenchSection(file: string, name: string, markdown: string): Promise<void> {
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const existing = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT')
      return '# Benchmarks\n\nFigures measured on the machine named in each section. Tests assert correctness; these tables report speed.\n';
    throw err;
  });
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const from = existing.indexOf(begin);
  const to = existing.indexOf(end);
  const next =
    from >= 0 && to > from
      ? existing.slice(0, from) + block + existing.slice(to + end.length)
      : `${existing.trimEnd()}\n\n${block}\n`;
  await writeFile(file, next);
}

/**
 * A benchmark's last step: print its section, then write it into `file` (see `writeBenchSection`), unless
 * BENCH_NO_WRITE=1 asks for a look that leaves the recorded figures as they are.
 */
export async function reportBench(
  file: string,
  name: string,
  markdown: string,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<void> {
  process.stdout.write(`${markdown}\n`);
  if (process.env.BENCH_NO_WRITE === '1') return log(`BENCH_NO_WRITE=1: ${file} left as it was`);
  await writeBenchSection(file, name, markdown);
  log(`written to ${file}`);
}
