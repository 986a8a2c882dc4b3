// Kill-to-alert benchmark (`pnpm bench:kills`): the whole system in a simulated session, each of NATS and the
// four services killed (SIGKILL) and frozen (SIGSTOP) in turn, `BENCH_KILL_ROUNDS` times; how long until
// something still alive noticed. Results go to BENCHMARKS.md; the test (kill-each.test.ts) asserts bounds.
import { resolve } from 'node:path';
import { benchSetting, machineLine, summarize, reportBench } from '@vigil/service-kit/testing';
import { type Detection, KILL_CASES, runKillCase, startWatchedSystem, WATCH } from './e2e/kill-scenarios.js';

const root = resolve(import.meta.dirname, '..');
const ROUNDS = benchSetting('BENCH_KILL_ROUNDS', 3, 1);
const say = (line: string) => process.stderr.write(`[bench:kills] ${line}\n`);

say('starting NATS, the simulator and the four services with quick detectors and a local dead man receiver');
const w = await startWatchedSystem(resolve(root, '.vigil', 'bench-kills'));
const results: Detection[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const c of KILL_CASES) {
    const d = await runKillCase(w, c);
    say(`round ${round}: ${c.how} ${c.target} → ${d.by} after ${d.afterMs} ms`);
    results.push(d);
  }
}
await w.stop();

const rows = KILL_CASES.map((c) => {
  const mine = results.filter((d) => d.case.target === c.target && d.case.how === c.how);
  const s = summarize(mine.map((d) => d.afterMs));
  const by = [...new Set(mine.map((d) => d.by))].join(', ');
  return `| ${c.target} | ${c.how} | ${by} | ${s.count} | ${s.p50.toFixed(0)} | ${s.max.toFixed(0)} |`;
});
const markdown = `## Kill to alert (\`pnpm bench:kills\`)

Command: \`pnpm bench:kills\` (\`BENCH_KILL_ROUNDS=${ROUNDS}\`), ${new Date().toISOString().slice(0, 10)}.
Machine: ${machineLine()}.

The whole system as \`./vigil start\` runs it, in a simulated session (one market minute per second). Each
of NATS and the four services is killed (SIGKILL; the launcher restarts a service after 1 s, NATS is started
again) or frozen (SIGSTOP, then SIGCONT), one at a time, each brought back before the next. Detectors are set
short so the figures show the machinery, not the defaults: health reports every ${WATCH.healthIntervalMs} ms,
\`SERVICE_DOWN_AFTER_MS=${WATCH.serviceDownAfterMs}\`, \`HEARTBEAT_TIMEOUT_MS=${WATCH.heartbeatTimeoutMs}\`, dead man's
pings every ${WATCH.deadmanIntervalMs} ms to a local receiver. Time is from the signal to the alert's
timestamp, or, for the watchdog and NATS (which no one inside can report), to the first dead man's ping that
did not come. With the defaults (the watchdog's README lists them) each path takes about its threshold, and
the dead man's switch the outside service's own grace period on top.

| Target | Signal | Noticed by | Samples | p50 ms | max ms |
|---|---|---|---:|---:|---:|
${rows.join('\n')}
`;
await reportBench(resolve(root, 'BENCHMARKS.md'), 'kills', markdown, say);
process.exit(0);
