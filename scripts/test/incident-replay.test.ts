// The incident, replayed: the whole system (NATS with its users, the simulator, the four services as
// processes) through a full accelerated session of 390 market minutes with the faults of session-faults.ts,
// among them the 33-minute freeze of the original incident, a gateway kill and a NATS restart. Then the
// properties that matter to someone trading through it are checked on what the system left behind.
import { join, resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { Alert, barEnd, barMsgId, consumers, streams, type Bar, type Signal } from '@vigil/contracts';
import { waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactlyOnce } from '../../services/market-gateway/test/harness.js';
import {
  nyInstant,
  SESSION_CLOSE,
  SESSION_START,
  sessionChaos,
  SOCKET_FREEZE,
  SYSTEM_FAULTS,
} from '../e2e/session-faults.js';
import { demoThresholds } from '../launcher/plan.js';
import { logLines, readBars, readSignals, readStream, startSystem, type RunningSystem } from '../e2e/system.js';

const MS_PER_MINUTE = 250;
const SYMBOLS = ['SPY', 'AAPL', 'MSFT', 'QQQ', 'ILLQ'];
const logDir = resolve(import.meta.dirname, '../../.vigil/e2e');
/** The executor's own limit (its default), in broker time; the strategy's is tighter (90 s). */
const EXECUTOR_MAX_SIGNAL_AGE_MS = 120_000;
/**
 * Real time is compressed 240x here, so a stall of the loaded two-core machine (seven processes: NATS, the
 * simulator, four services, the test) is minutes of market time. CI saw half a second between the executor's
 * last age check and the broker's stamp, and a second and a half for the strategy to decide again after the
 * NATS restart. Allowances below are stated in real time and converted, so they mean the same at any speed.
 */
const SCHEDULING_NOISE_MS = 500;
const inMarketTime = (realMs: number) => (realMs * 60_000) / MS_PER_MINUTE;
/**
 * The executor checks a signal's age just before it sends; the broker stamps the order on arrival. Allow the
 * POST's flight plus scheduling noise: an order sent after waiting out a 429 (1 s of ours, four market
 * minutes), the bug this check exists for, lands far outside it.
 */
const IN_FLIGHT_ALLOWANCE_MS = Math.max(60_000, inMarketTime(SCHEDULING_NOISE_MS));

let system: RunningSystem;
let bars: Bar[] = [];
let signals: Signal[] = [];
let alerts: Alert[] = [];
let ended: Record<string, string | null> = {};
const faultLog: { kind: string; simMs: number }[] = [];
/** A wall instant and the market instant it was, to place the watchdog's (wall-clock) alerts on the session. */
let clockRef = { wallMs: 0, simMs: 0 };
const marketTime = (wallIso: string) =>
  clockRef.simMs + ((Date.parse(wallIso) - clockRef.wallMs) * 60_000) / MS_PER_MINUTE;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilSim(simMs: number): Promise<void> {
  while (system.sim.clock.now() < simMs) await sleep(20);
}

beforeAll(async () => {
  system = await startSystem({
    logDir,
    symbols: SYMBOLS,
    sparseSymbols: ['ILLQ'],
    msPerMinute: MS_PER_MINUTE,
    simStart: SESSION_START,
    env: {
      'market-gateway': {
        HEARTBEAT_INTERVAL_MS: '250',
        PING_INTERVAL_MS: '1000',
        PONG_TIMEOUT_MS: '1000',
        HANDSHAKE_TIMEOUT_MS: '1000',
        AUTH_TIMEOUT_MS: '1000',
        SUBSCRIBE_TIMEOUT_MS: '1000',
        CLOCK_REFRESH_MS: '500',
      },
      watchdog: {
        // Under the ~2 s a killed gateway stays silent (a 1 s restart delay, then start-up): at 2 s the
        // gateway_down page raced the restarted gateway's first heartbeat and sometimes lost.
        HEARTBEAT_TIMEOUT_MS: '1200',
        FLATTEN_POLICY: 'halt',
        CLOCK_REFRESH_MS: '500',
        COMMAND_TIMEOUT_MS: '1000',
        COMMAND_BACKOFF_MS: '100',
      },
      strategy: { CLOCK_REFRESH_MS: '500' },
      executor: { CLOCK_REFRESH_MS: '500', ORDER_POLL_MS: '250' },
    },
  });
  await system.ready(60_000);
  clockRef = { wallMs: Date.now(), simMs: system.sim.clock.now() };
  system.sim.runChaos(
    sessionChaos(system.sim.credentials.keyId)
      .map((e) => ({ ...e, atMinute: e.atMinute - minutesSinceStart() }))
      .filter((e) => e.atMinute >= 0),
  );

  for (const fault of SYSTEM_FAULTS) {
    await untilSim(nyInstant(fault.time));
    faultLog.push({ kind: fault.kind, simMs: system.sim.clock.now() });
    if (fault.kind === 'gateway_kill') system.processes['market-gateway'].kill('SIGKILL');
    else await system.nats.restart();
  }
  await untilSim(Date.parse(SESSION_CLOSE) + 2 * 60_000);

  // The last minute's bar goes out just after the close; wait until the stream holds all of them.
  // A bar still missing after that is a failure the exactly-once test reports in detail.
  await waitFor(
    'every emitted bar in BARS',
    async () => {
      bars = await readBars(system.ops);
      return exactlyOnce(bars, (s) => system.sim.emittedBars(s), SYMBOLS).length === 0;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  ).catch(() => {});
  await waitFor(
    `the strategy and executor consumers to drain (logs in ${logDir})`,
    async () => {
      const [strategy, executor] = await Promise.all(
        [consumers.strategyBars, consumers.executorSignals].map((c) =>
          system.jsm.consumers.info(c.stream, c.durable_name),
        ),
      );
      return [strategy!, executor!].every((c) => c.num_pending === 0 && c.num_ack_pending === 0);
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  signals = await readSignals(system.ops);
  // From the ALERTS stream, not the live subscription: an alert raised while NATS restarted reaches the
  // stream when the watchdog reconnects, but may reach a subscriber before it has subscribed again.
  alerts = await readStream(system.ops, streams.alerts.name, Alert);
  ended = await system.stop();
  // For whoever reads a failure: what the watchdog said, next to the services' logs.
  await writeFile(join(logDir, 'alerts.json'), JSON.stringify(alerts, null, 2));
}, 300_000);

afterAll(async () => {
  if (Object.keys(ended).length === 0) await system?.stop().catch(() => {});
});

function minutesSinceStart(): number {
  return (system.sim.clock.now() - Date.parse(SESSION_START)) / 60_000;
}

describe('a full session with 30+ faults, the 33-minute freeze, a gateway kill and a NATS restart', () => {
  it('starts every service before the open, so the faults fall where the schedule puts them', () => {
    expect(sessionChaos('k').length + SYSTEM_FAULTS.length).toBeGreaterThanOrEqual(20);
    expect(faultLog.map((f) => f.kind)).toEqual(['gateway_kill', 'nats_restart']);
    const { applied } = system.sim.status().faults as { applied: Record<string, number> };
    expect(Object.values(applied).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(20);
    expect(Object.keys(applied).length).toBeGreaterThanOrEqual(15);
  });

  it('stores every simulated bar exactly once, in order, in the BARS stream', () => {
    expect(exactlyOnce(bars, (s) => system.sim.emittedBars(s), SYMBOLS)).toEqual([]);
    const ids = bars.map((b) => barMsgId(b.symbol, b.t, b.revision));
    expect(new Set(ids).size).toBe(ids.length);
    // The session really ran: 390 minutes of a liquid symbol.
    expect(system.sim.emittedBars('SPY')).toHaveLength(390);
    // Bars came from all three paths: the stream, REST backfill, and REST polling while the feed was frozen.
    const sources = new Set(bars.map((b) => b.source));
    for (const path of ['live', 'backfill', 'poll'] as const) expect(sources).toContain(path);
    // And the audit: late-trade corrections the stream never delivered (it was down, or polling carried the
    // minute) are stored as the bar's next revision (about 10 a session here, and no hole, when this was written).
    // A hole it fills would still pass exactlyOnce above: complete is what counts; which layer missed it is
    // data_repaired's to say.
    expect([...sources].every((s) => ['live', 'backfill', 'poll', 'audit'].includes(s))).toBe(true);
  });

  it('lets the strategy decide on each bar exactly once', async () => {
    const decisions = await logLines(logDir, 'strategy', 'Evaluating trading decision');
    const counts = new Map<string, number>();
    for (const d of decisions)
      counts.set(
        `${d.symbol as string}:${d.barT as string}`,
        (counts.get(`${d.symbol as string}:${d.barT as string}`) ?? 0) + 1,
      );
    const firsts = bars.filter((b) => b.revision === 0);
    const problems = firsts.flatMap((b) => {
      const n = counts.get(`${b.symbol}:${b.t}`) ?? 0;
      return n === 1 ? [] : [`${b.symbol} ${b.t} decided ${n} times`];
    });
    expect(problems).toEqual([]);
    expect(decisions).toHaveLength(firsts.length);
  });

  it('places orders, and none on a stale or replayed bar, whichever way the bar came', () => {
    const signalsById = new Map(signals.map((s) => [s.id, s]));
    const bySymbolT = new Map(bars.filter((b) => b.revision === 0).map((b) => [`${b.symbol}:${b.t}`, b]));
    const orders = system.sim.broker.orders;
    expect(orders.length).toBeGreaterThan(0);
    const problems = orders.flatMap((o) => {
      const signal = signalsById.get(o.client_order_id);
      if (!signal) return [`order ${o.client_order_id} has no signal`];
      const bar = bySymbolT.get(`${signal.symbol}:${signal.barT}`);
      if (!bar) return [`order ${o.client_order_id}: its bar is not in BARS`];
      const ageMs = Date.parse(o.submitted_at) - barEnd(bar).getTime();
      const out: string[] = [];
      // A fresh polled or backfilled bar trades like a live one; the signal must say which it was.
      if (signal.barSource !== bar.source)
        out.push(`order ${o.client_order_id}: signal says ${signal.barSource}, its bar came by ${bar.source}`);
      if (ageMs > EXECUTOR_MAX_SIGNAL_AGE_MS + IN_FLIGHT_ALLOWANCE_MS)
        out.push(`order ${o.client_order_id} placed ${ageMs} ms (market time) after its bar ended`);
      return out;
    });
    expect(problems).toEqual([]);
    // One order per signal id at most: Alpaca refuses a reused client_order_id, and the executor never needs one.
    expect(new Set(orders.map((o) => o.client_order_id)).size).toBe(orders.length);
  });

  it('opens an incident for the freeze and for the gateway kill, halts on stale data, and resolves every incident', () => {
    const opened = alerts.filter((a) => a.status === 'open');
    const resolved = new Set(alerts.filter((a) => a.status === 'resolved').map((a) => a.incidentId));
    // The close pauses an open incident (it carries on at the next open); one opened in the session's last
    // minutes, when the demo's tight data checks flap the feed, may be paused before it could resolve.
    const pausedByClose = (a: Alert) => marketTime(a.at) >= Date.parse(SESSION_CLOSE) - 10 * 60_000;
    expect(
      opened
        .filter((a) => !resolved.has(a.incidentId) && !pausedByClose(a))
        .map((a) => `${a.kind} ${a.incidentId} never resolved`),
    ).toEqual([]);

    // Each outage that left data stale has its own incident, opened while that outage lasted: the freeze (REST down
    // too for its first 6 minutes, so nothing could bridge it) and the gateway kill.
    const openedDuring = (kind: string, from: string, to: string) =>
      opened.filter((a) => a.kind === kind && marketTime(a.at) >= nyInstant(from) && marketTime(a.at) <= nyInstant(to));
    expect(openedDuring('no_bar', '10:29', '11:02').map((a) => a.kind)).toEqual(['no_bar']);
    expect(openedDuring('gateway_down', '13:00', '13:10').map((a) => a.kind)).toEqual(['gateway_down']);
    expect(alerts.some((a) => a.kind === 'stale_halt')).toBe(true);
    expect(alerts.some((a) => a.kind === 'resumed')).toBe(true);
    // A stale-data incident opens as no_bar and resolves as resumed, saying how long data was stale; the
    // freeze's lasted about the 6 minutes REST was down too.
    const staleFor = alerts
      .filter((a) => a.kind === 'resumed' && a.status === 'resolved')
      .map((a) => a.durationMs ?? 0);
    expect(Math.max(0, ...staleFor)).toBeGreaterThanOrEqual(4 * MS_PER_MINUTE);
    // Outages the gateway bridged without stale data show as reconnects, one alert each.
    expect(alerts.filter((a) => a.kind === 'reconnect').length).toBeGreaterThanOrEqual(10);
  });

  it('keeps trading on polled bars through the 35-minute socket-only freeze, and pages the degraded feed', () => {
    const from = nyInstant(SOCKET_FREEZE.from);
    const to = from + SOCKET_FREEZE.minutes * 60_000;
    const placed = new Set(system.sim.broker.orders.map((o) => o.client_order_id));
    const polled = signals.filter(
      (s) => s.barSource === 'poll' && Date.parse(s.barT) >= from && Date.parse(s.barT) < to && placed.has(s.id),
    );
    expect(polled.length, 'orders placed on polled bars during the freeze').toBeGreaterThan(0);
    // Open during the freeze, from whenever it opened: on a loaded machine the feed can flap just before the
    // freeze, and that incident then carries through it rather than a new one opening inside.
    const spans = new Map<string, { opened: number; resolved: number }>();
    for (const a of alerts.filter((x) => x.kind === 'feed_degraded' && x.incidentId !== null)) {
      const span = spans.get(a.incidentId!) ?? { opened: marketTime(a.at), resolved: Number.POSITIVE_INFINITY };
      if (a.status === 'resolved') span.resolved = marketTime(a.at);
      spans.set(a.incidentId!, span);
    }
    const degradedAlertMs = inMarketTime(Number(demoThresholds(MS_PER_MINUTE).watchdog?.DEGRADED_ALERT_MS));
    const pagedDuring = [...spans.values()].filter((s) => s.opened <= to && s.resolved >= from + degradedAlertMs);
    expect(pagedDuring.length, 'feed_degraded open during the freeze').toBeGreaterThan(0);
    const resolvedAfter = alerts.filter(
      (a) => a.kind === 'feed_degraded' && a.status === 'resolved' && marketTime(a.at) >= to,
    );
    expect(resolvedAfter.length, 'feed_degraded resolved once the socket was back').toBeGreaterThan(0);
  });

  it('never leaves a held position undecided for longer than UNMANAGED_ALERT_MS without a critical alert', async () => {
    const violations = await unmanagedWithoutPage();
    expect(violations).toEqual([]);
  });

  it('stops every service cleanly at the end: nothing hangs', () => {
    expect(ended).toEqual({ watchdog: 'code 0', executor: 'code 0', strategy: 'code 0', 'market-gateway': 'code 0' });
    expect(system.processes['market-gateway'].restarts).toBe(1);
  });
});

/**
 * Checked from outside, from what the system left behind: a held symbol's fresh bar not decided on (the
 * strategy's log) within UNMANAGED_ALERT_MS plus the watchdog's own reporting slack must fall inside an open
 * critical incident. The watchdog counts a bar as fresh if it ended within two market minutes of its own
 * broker-time estimate; the gateway's receipt stamp is a different estimate, and the bar reaches the watchdog
 * after its JetStream publish: at 240x each is worth tens of market seconds. So only bars that ended within
 * one market minute of receipt are held to it, which every live bar and most polled bars are.
 */
async function unmanagedWithoutPage(): Promise<string[]> {
  const demo = demoThresholds(MS_PER_MINUTE);
  const setting = (service: 'watchdog' | 'strategy', name: string) => Number(demo[service]?.[name]);
  const UNMANAGED_MARKET_MS = inMarketTime(setting('watchdog', 'UNMANAGED_ALERT_MS'));
  // What the watchdog needs to notice: a tick, a strategy heartbeat, a position read, then delivery after a
  // NATS restart and scheduling noise.
  const reporting =
    setting('watchdog', 'TICK_MS') +
    setting('strategy', 'HEARTBEAT_INTERVAL_MS') +
    setting('watchdog', 'POSITIONS_REFRESH_MS');
  const SLACK_MARKET_MS = inMarketTime(reporting + 2 * SCHEDULING_NOISE_MS);
  expect(Number.isFinite(SLACK_MARKET_MS) && Number.isFinite(UNMANAGED_MARKET_MS)).toBe(true);
  const decided = new Map<string, number[]>();
  for (const d of await logLines(logDir, 'strategy', 'Evaluating trading decision')) {
    if (d.fresh !== true) continue;
    const key = `${d.symbol as string}:${d.barT as string}`;
    decided.set(key, [...(decided.get(key) ?? []), marketTime(d.time as string)]);
  }
  // Held quantity per symbol at a market instant, from the fills at the broker.
  const fills = system.sim.broker.orders
    .filter((o) => o.filled_at !== null && Number(o.filled_qty) > 0)
    .map((o) => ({
      symbol: o.symbol,
      at: Date.parse(o.filled_at!),
      qty: Number(o.filled_qty) * (o.side === 'buy' ? 1 : -1),
    }));
  const heldAt = (symbol: string, at: number) =>
    fills.filter((f) => f.symbol === symbol && f.at <= at).reduce((q, f) => q + f.qty, 0);
  // Critical incidents as [opened, resolved] in market time.
  const opened = new Map<string, number>();
  const spans: [number, number][] = [];
  for (const a of alerts) {
    if (a.incidentId === null) continue;
    if (a.status === 'open' && a.severity === 'critical' && !opened.has(a.incidentId))
      opened.set(a.incidentId, marketTime(a.at));
    if (a.status === 'resolved' && opened.has(a.incidentId)) spans.push([opened.get(a.incidentId)!, marketTime(a.at)]);
  }
  for (const [, at] of opened) if (!spans.some(([s]) => s === at)) spans.push([at, Infinity]);
  const paged = (at: number) => spans.some(([s, e]) => s <= at && at <= e);
  const close = Date.parse(SESSION_CLOSE);
  const out: string[] = [];
  for (const b of bars) {
    if (b.revision !== 0) continue;
    const arrived = Date.parse(b.receivedAt);
    if (arrived - barEnd(b).getTime() > 60_000 || arrived > close) continue;
    if (heldAt(b.symbol, arrived) === 0) continue;
    const deadline = arrived + UNMANAGED_MARKET_MS + SLACK_MARKET_MS;
    if (deadline > close) continue;
    const firstDecision = Math.min(...(decided.get(`${b.symbol}:${b.t}`) ?? [Infinity]));
    // A later bar decided in time counts too: the strategy moved on past this one.
    const later = bars.some(
      (n) =>
        n.symbol === b.symbol &&
        n.revision === 0 &&
        n.t > b.t &&
        (decided.get(`${n.symbol}:${n.t}`) ?? []).some((t) => t <= deadline),
    );
    if (firstDecision <= deadline || later) continue;
    if (!paged(deadline))
      out.push(
        `${b.symbol} ${b.t} (held ${heldAt(b.symbol, arrived)}) arrived ${new Date(arrived).toISOString()}, undecided past ${new Date(deadline).toISOString()} with no critical alert open`,
      );
  }
  return out;
}
