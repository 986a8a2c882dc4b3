// End-to-end benchmark (`pnpm bench`): the whole system, as `./vigil start` runs it, at one bar per second
// for each of 100 symbols. Latency from a bar leaving the simulator to NATS, to its signal and to its order,
// first steady, then across a NATS restart. Results go to BENCHMARKS.md; nothing here is asserted.
import { resolve } from 'node:path';
import { benchSetting, machineLine, summarize, reportBench } from '@vigil/service-kit/testing';
import { LatencyProbe, type Hop, type Stage } from './e2e/latency-probe.js';
import { readSignals, startSystem } from './e2e/system.js';

const root = resolve(import.meta.dirname, '..');
const SYMBOL_COUNT = 100;
const PHASE_MS = benchSetting('BENCH_PHASE_MS', 40_000, 1_000);
// SPY is one of them: the gateway's canary (SPY trades) tells it data flows, as on the real feed.
const symbols = ['SPY', ...Array.from({ length: SYMBOL_COUNT - 1 }, (_, i) => `S${String(i + 1).padStart(3, '0')}`)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);

say(`starting NATS, the simulator (${SYMBOL_COUNT} symbols, one market minute per second) and the four services`);
const system = await startSystem({
  logDir: resolve(root, '.vigil', 'bench'),
  symbols,
  sparseSymbols: [],
  msPerMinute: 1000,
  simStart: '2026-01-06T09:30:00-05:00',
  sim: { startingCash: 1e12, updatedBarRate: 0 },
  env: {
    // Momentum over one bar with a 1 bps band changes regime on about every other bar: plenty of signals.
    strategy: { STRATEGY: 'momentum', MOMENTUM_LOOKBACK: '1', MOMENTUM_THRESHOLD_BPS: '1', LOG_LEVEL: 'warn' },
    executor: {
      MAX_ORDERS_PER_MINUTE: '100000',
      MAX_POSITION_QTY: '1000000',
      MAX_ORDER_NOTIONAL: '1000000000',
      LOG_LEVEL: 'warn',
    },
    // The demo's 0.5-minute data check is 500 ms here: a sim tick late under load would drop a healthy stream
    // and send bars through polling (which never signal). Issue 4's benchmark setting instead.
    'market-gateway': { LOG_LEVEL: 'warn', STALE_AFTER_MS: '2000' },
    watchdog: { LOG_LEVEL: 'warn' },
  },
});
const probe = new LatencyProbe(system.sim, system.ops);
await system.ready(60_000);
await sleep(5_000); // past the start-up backfill, into the steady stream

const now = () => performance.timeOrigin + performance.now();
const steady = { from: now(), to: 0 };
say(`phase 1: steady for ${PHASE_MS / 1000} s`);
await sleep(PHASE_MS);
steady.to = now();

const restart = { from: now(), to: 0 };
say(`phase 2: ${PHASE_MS / 1000} s with a NATS restart in the middle`);
await sleep(PHASE_MS / 2);
const restartStarted = now();
await system.nats.restart();
const natsDownMs = Math.round(now() - restartStarted);
say(`NATS restarted (${natsDownMs} ms from stop to listening)`);
await sleep(PHASE_MS / 2);
restart.to = now();

await sleep(10_000); // let buffered bars and their signals and orders drain
probe.learnSignals(await readSignals(system.ops));
const ended = await system.stop();

const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
const rows: string[] = [];
for (const [label, phase] of [
  ['steady', steady],
  ['NATS restart', restart],
] as const) {
  for (const stage of ['nats', 'signal', 'order'] as Stage[]) {
    const s = summarize(probe.latencies(stage, phase.from, phase.to));
    const what = { nats: 'bar stored in JetStream', signal: 'signal published', order: 'order at the broker' }[stage];
    rows.push(`| ${label} | ${what} | ${s.count} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.max)} |`);
  }
  for (const hop of ['strategy', 'executor'] as Hop[]) {
    const s = summarize(probe.hopLatencies(hop, phase.from, phase.to));
    const what = { strategy: 'hop: strategy (stored → signal)', executor: 'hop: executor (signal → broker)' }[hop];
    rows.push(`| ${label} | ${what} | ${s.count} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.max)} |`);
  }
}
const steadyOrder = summarize(probe.latencies('order', steady.from, steady.to));
const target = (name: string, value: number, limit: number) =>
  `${value <= limit ? 'Met' : '**Missed**'}: ${name} ≤ ${limit} ms: ${fmt(value)} ms`;
const markdown = `## End to end: bar → signal → order (\`pnpm bench\`)

Command: \`pnpm bench\` (this section alone: \`pnpm bench:e2e\`), ${new Date().toISOString().slice(0, 10)}.
Machine: ${machineLine()}.

The whole system as \`./vigil start\` runs it (private nats-server with the per-service users, the simulator,
the four services as separate processes) at one bar per second for each of ${SYMBOL_COUNT} symbols (the simulator's
market minute lasts 1 s), strategy \`momentum\` (1-bar lookback, 1 bps band) so that about every other bar signals.
Latency is measured from the moment the simulator wrote the bar to the gateway's socket to: the bar arriving
on a NATS subscriber; the signal arriving on a NATS subscriber; the order reaching the simulated broker. Each
phase lasts ${PHASE_MS / 1000} s; bars emitted: ${probe.barsEmitted(steady.from, steady.to)} (steady), ${probe.barsEmitted(restart.from, restart.to)} (NATS restart, down ${natsDownMs} ms).
The gateway runs with \`STALE_AFTER_MS=2000\` (issue 4's benchmark setting; the demo's would be 500 ms here).
Only bars the strategy still finds fresh produce signals, whichever way they came: bars that ended longer
than \`MAX_SIGNAL_AGE_MS\` ago (90 market seconds = 1.5 s here) are folded into the indicators but never traded.
How the bars reached NATS: steady ${probe.sources(steady.from, steady.to)}; NATS restart ${probe.sources(restart.from, restart.to)}.
The hop rows are per bar: what the strategy added (bar stored → signal seen) and what the executor added
(signal seen → order at the broker); the gateway's hop is the first row.

| Phase | Stage | Samples | p50 ms | p99 ms | max ms |
|---|---|---:|---:|---:|---:|
${rows.join('\n')}

**Targets** (issue 16), steady bar → order at the broker; before the per-symbol lanes (2026-11-29) it was
p50 250.2 / p99 545.3 ms:

- ${target('p50', steadyOrder.p50, 60)}
- ${target('p99', steadyOrder.p99, 200)}

Where the time went before: every hop handled one message at a time and waited for each round trip (the
strategy's state write and signal ack, the executor's POST, order events, positions read and rate-window
write, each message's own ack) before taking the next, so a minute's last bar waited for every other
symbol's; and the simulator, which runs in the bench process, spent most of a core on date formatting.
Now each symbol has its own lane in both consumers, orders for different symbols go out side by side (a
flatten still waits for all of them), and an order's events follow it instead of holding the next one.

Services stopped with: ${Object.entries(ended)
  .map(([k, v]) => `${k} ${v}`)
  .join(', ')}.
`;
await reportBench(resolve(root, 'BENCHMARKS.md'), 'end-to-end', markdown, say);
process.exit(0);
