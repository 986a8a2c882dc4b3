import { fileURLToPath } from 'node:url';
import { benchSetting, machineLine, reportBench } from '@vigil/service-kit/testing';
import { GATEWAY_ENV, MS_PER_MINUTE, SIM } from './settings.js';
import { runTakeover, summaries, TAKEOVER, type TakeoverRun } from './takeover.js';

/**
 * `pnpm --filter @vigil/market-gateway bench:takeover`: kill -9 and SIGSTOP the leading gateway in turn, time
 * the standby's take-over from outside, and write the `market-gateway-takeover` section of BENCHMARKS.md.
 * BENCH_TAKEOVER_ROUNDS (default 6) sets the rounds; BENCH_NO_WRITE=1 prints without writing.
 */
const file = fileURLToPath(new URL('../../../BENCHMARKS.md', import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);
const rounds = benchSetting('BENCH_TAKEOVER_ROUNDS', 6);
const started = Date.now();
log(`market-gateway take-over bench: ${rounds} rounds`);
const run = await runTakeover(rounds, log);
const markdown = render(run, (Date.now() - started) / 1000);
await reportBench(file, 'market-gateway-takeover', markdown, log);
process.exit(0);

function render(run: TakeoverRun, wallS: number): string {
  const s = (ms: number | null) => (ms === null || !Number.isFinite(ms) ? '—' : (ms / 1000).toFixed(2));
  const sum = summaries(run);
  const bound = TAKEOVER.leaseTtlMs + Number(GATEWAY_ENV.POLL_INTERVAL_MS) + MS_PER_MINUTE;
  const worstFirstBar = Math.max(...run.rounds.map((r) => r.firstBarMs ?? Number.POSITIVE_INFINITY));
  const lines = [
    '## market-gateway: standby take-over (`pnpm --filter @vigil/market-gateway bench:takeover`)',
    '',
    `- Command: \`pnpm --filter @vigil/market-gateway bench:takeover\` (\`BENCH_TAKEOVER_ROUNDS=${rounds}\`), ${new Date().toISOString().slice(0, 10)}; ${wallS.toFixed(0)} s`,
    `- Machine: ${machineLine()}`,
    `- Two gateway processes (\`src/main.ts\`), \`LEASE_TTL_MS=${TAKEOVER.leaseTtlMs}\` (the default), the fault bench's other settings (\`POLL_INTERVAL_MS=${GATEWAY_ENV.POLL_INTERVAL_MS}\`, \`POLL_AFTER_MS=${GATEWAY_ENV.POLL_AFTER_MS}\`); simulator at one bar per symbol per ${MS_PER_MINUTE} ms (${TAKEOVER.symbols.join(', ')}), server pings every 1 s (a frozen session is reaped, then held for the zombie grace of ${SIM.zombieGraceMs} ms: 406 meanwhile); real nats-server, loopback`,
    '- Each round takes the leader away (kill -9 and SIGSTOP in turn); the other process must lead and bars must flow. The one taken away comes back as the standby (a fresh process after kill -9; after SIGCONT the same one, which must step down). Times from the signal, seen from outside on NATS.',
    '',
    '| Round | How | Standby leads | First bar of a new minute | First live bar | Longest silence between SPY bars |',
    '|---:|---|---:|---:|---:|---:|',
    ...run.rounds.map(
      (r, i) =>
        `| ${i + 1} | ${r.how} | ${s(r.leaderMs)} s | ${s(r.firstBarMs)} s | ${s(r.firstLiveBarMs)} s | ${s(r.longestSilenceMs)} s |`,
    ),
    `| p50 / max | | ${s(sum.leader.p50)} / ${s(sum.leader.max)} s | ${s(sum.firstBar.p50)} / ${s(sum.firstBar.max)} s | ${s(sum.firstLive.p50)} / ${s(sum.firstLive.max)} s | ${s(sum.silence.p50)} / ${s(sum.silence.max)} s |`,
    '',
    `BARS after ${run.rounds.length} take-overs: ${run.lost} lost, ${run.duplicates} duplicates${run.problems.length ? ` (${run.problems.slice(0, 5).join('; ')})` : ''}.`,
    '',
    '**Targets** (issue 16):',
    '',
    `- ${worstFirstBar <= bound ? 'Met' : '**Missed**'}: bars keep coming within \`LEASE_TTL_MS\` plus one poll (and the bar interval): worst first new bar ${s(worstFirstBar)} s against ${s(bound)} s.`,
    `- ${run.lost === 0 && run.duplicates === 0 ? 'Met' : '**Missed**'}: 0 lost, 0 duplicates: ${run.lost} lost, ${run.duplicates} duplicates.`,
  ];
  return lines.join('\n');
}
