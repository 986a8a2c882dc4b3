import { fileURLToPath } from 'node:url';
import { machineLine, reportBench } from '@vigil/service-kit/testing';
import { runBurst } from './burst.js';
import { runFaults } from './faults.bench.js';
import { notesFor, renderMarkdown } from './report.js';
import { ROUNDS } from './settings.js';

/**
 * `pnpm --filter @vigil/market-gateway bench`: the fault run, then the burst, then the report, printed
 * and written to the repository's BENCHMARKS.md (its `market-gateway` section only).
 * BENCH_ROUNDS (default 8, 104 faults) and BENCH_BURST_REPS (default 5) shorten it for a quick look;
 * BENCH_NO_WRITE=1 prints without touching BENCHMARKS.md.
 */
const file = fileURLToPath(new URL('../../../BENCHMARKS.md', import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);

log(`market-gateway bench: ${ROUNDS} rounds of faults, then the 10,000-bar burst`);
const run = await runFaults(ROUNDS, log);
log('faults done; burst…');
const burst = await runBurst();
const markdown = renderMarkdown(run, burst, machineLine(), notesFor(run, burst));
await reportBench(file, 'market-gateway', markdown, log);
// Lingering sockets or timers from the clients must not keep the bench alive.
process.exit(0);
