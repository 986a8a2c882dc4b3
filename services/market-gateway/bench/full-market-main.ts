import { fileURLToPath } from 'node:url';
import { machineLine, reportBench } from '@vigil/service-kit/testing';
import { FULL_MARKET, runFullMarket, type FullMarketRun } from './full-market.js';

/**
 * `pnpm --filter @vigil/market-gateway bench:market`: the gateway with SYMBOLS=* over 10,000 symbols, and the
 * `market-gateway-full-market` section of BENCHMARKS.md. BENCH_MARKET_SYMBOLS and BENCH_MARKET_MINUTES size it;
 * BENCH_NO_WRITE=1 prints without writing.
 */
const file = fileURLToPath(new URL('../../../BENCHMARKS.md', import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);
const started = Date.now();
const run = await runFullMarket(log);
const markdown = render(run, (Date.now() - started) / 1000);
await reportBench(file, 'market-gateway-full-market', markdown, log);
process.exit(0);

function render(run: FullMarketRun, wallS: number): string {
  const s = (ms: number | null) => (ms === null || !Number.isFinite(ms) ? '—' : (ms / 1000).toFixed(2));
  const totalRest = Object.values(run.restRequests).reduce((a, b) => a + b, 0);
  const perMinute = totalRest / run.restWindowMinutes;
  const minuteMs = FULL_MARKET.msPerMinute;
  const env = Object.entries(FULL_MARKET.env)
    .map(([k, v]) => `\`${k}=${v}\``)
    .join(', ');
  return [
    '## market-gateway: the full market, `SYMBOLS=*` (`pnpm --filter @vigil/market-gateway bench:market`)',
    '',
    `- Command: \`pnpm --filter @vigil/market-gateway bench:market\`, ${new Date().toISOString().slice(0, 10)}; ${wallS.toFixed(0)} s`,
    `- Machine: ${machineLine()}`,
    `- The simulator with ${run.symbols} symbols, each with a bar every market minute; one market minute per ${minuteMs / 1000} s (ten times real time, so Alpaca's 200 requests a minute are ten times scarcer per market minute than in a session). The gateway as its own process (\`src/main.ts\`) with ${env}, \`REST_SYMBOLS_PER_REQUEST\` and \`ALPACA_REST_RATE_LIMIT\` at their defaults (1000, 190); real nats-server, loopback. Times are seen from outside on NATS.`,
    '',
    '| | p50 | max |',
    '|---|---:|---:|',
    `| ${run.minuteToStored.count} steady minutes: the simulator closes the minute → the last of its ${run.symbols} bars on NATS | ${s(run.minuteToStored.p50)} s | ${s(run.minuteToStored.max)} s |`,
    `| of which: the close → its first bar on NATS | ${s(run.toFirst.p50)} s | ${s(run.toFirst.max)} s |`,
    `| of which: its first bar → its last bar on NATS | ${s(run.spread.p50)} s | ${s(run.spread.max)} s |`,
    '',
    `- Start: the first minute stored for every symbol ${s(run.startMs)} s after the gateway was started (assets read, ${FULL_MARKET.env.BACKFILL_MAX_LOOKBACK_MS} ms of lookback backfilled).`,
    `- A drop with its 406 lock-out (${FULL_MARKET.zombieGraceMs / minuteMs} market minutes): the ${run.gapMinutes} minutes that closed without the stream were on NATS for all ${run.symbols} symbols at worst ${s(run.gapWorstMs)} s after their close, by outage poll and backfill (\`POLL_INTERVAL_MS=${FULL_MARKET.env.POLL_INTERVAL_MS}\`, one market minute).`,
    `- REST: ${totalRest} requests in ${run.restWindowMinutes.toFixed(1)} wall minutes (${perMinute.toFixed(0)} a minute; the budget is 190): ${Object.entries(
      run.restRequests,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; ${run.failedFetches} failed backfill attempts.`,
    `- BARS read back whole: ${run.stored} messages; ${run.lost} lost, ${run.duplicates} duplicates.`,
    '',
    '**Targets** (issue 16):',
    '',
    `- ${run.lost === 0 && run.duplicates === 0 && run.gapWorstMs !== null ? 'Met' : '**Missed**'}: a ${run.symbols}-symbol minute end to end, and a gap backfilled for every symbol: ${run.lost} lost, ${run.duplicates} duplicates.`,
    `- ${perMinute <= 200 ? 'Met' : '**Missed**'}: within Alpaca's 200 requests/min: ${perMinute.toFixed(0)} a minute.`,
  ].join('\n');
}
