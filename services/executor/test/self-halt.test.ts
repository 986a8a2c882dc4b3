// The executor halts itself in market hours when it hears neither the watchdog's health nor a fresh bar, against a
// real nats-server and the simulator; then only a person, or the watchdog once heard again, may resume it.
import {
  commands,
  encode,
  GatewayHeartbeat,
  HealthReport,
  healthSubject,
  subjects,
  type CommandRequest,
} from '@vigil/contracts';
import { waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command, request, startEnv, startExecutor, type Env } from './harness.js';

const AFTER_MS = 2_000;

let env: Env;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => env?.stop());

const resume = (body: CommandRequest<typeof commands.executorResume>) => request(env, commands.executorResume, body);
const watchdog = { ...command, requestedBy: 'watchdog-test', by: 'watchdog', incidentId: 'stale-1' } as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function watchdogHealth(): void {
  const report: HealthReport = {
    v: 1,
    service: 'watchdog',
    instanceId: 'watchdog-test',
    version: '0.1.0',
    at: new Date().toISOString(),
    status: 'ok',
    uptimeSec: 1,
    figures: {},
    notes: [],
  };
  env.nc.publish(healthSubject('watchdog'), encode(HealthReport, report));
}

/** The gateway's heartbeat, its last SPY bar the one that just ended on the simulator's clock. */
function gatewayHeartbeat(seq: number): void {
  const now = new Date().toISOString();
  const lastBarT = new Date(Math.floor(env.sim.clock.now() / 60_000) * 60_000 - 60_000).toISOString();
  const hb: GatewayHeartbeat = {
    v: 1,
    service: 'market-gateway',
    instanceId: 'gateway-test',
    seq,
    sentAt: now,
    state: 'streaming',
    reason: 'streaming',
    marketOpen: true,
    symbols: ['SPY'],
    connectedSince: now,
    lastMessageAt: now,
    lastBarAt: now,
    lastBarTBySymbol: { SPY: lastBarT },
    barsLastMinute: 1,
    reconnects: 0,
    uptimePct: 100,
    polling: false,
    dataPath: 'live',
    dataPathSince: now,
    liveDownSince: null,
    bufferedBars: 0,
    bufferFill: 0,
    audit: { lastAuditAt: null, missing: 0, revised: 0 },
  };
  env.nc.publish(subjects.heartbeat, encode(GatewayHeartbeat, hb));
}

/** Publish every 200 ms until the returned stop is called. */
function every(send: (n: number) => void): () => void {
  let n = 0;
  send(n++);
  const timer = setInterval(() => send(n++), 200);
  return () => clearInterval(timer);
}

describe('self-halt', () => {
  it('halts when both fall silent in market hours; the watchdog resumes only once heard again, a person always', async () => {
    const ex = await startExecutor(env, { SELF_HALT_AFTER_MS: AFTER_MS });
    const stopHealth = every(watchdogHealth);
    const stopBars = every(gatewayHeartbeat);
    await sleep(3 * AFTER_MS);
    expect(ex.halt.current().halted).toBe(false);

    // Fresh bars alone are enough: the executor can see data is live.
    stopHealth();
    await sleep(3 * AFTER_MS);
    expect(ex.halt.current().halted).toBe(false);

    stopBars();
    const halted = await waitFor('the self-halt event', () => env.events.find((e) => e.event === 'halted'));
    expect(halted).toMatchObject({ symbol: null, side: null, qty: 0 });
    expect(halted.reason).toMatch(/^self-halt: no watchdog health and no fresh bar for \d+ s of open market$/);
    expect(ex.halt.current()).toMatchObject({ halted: true, by: 'executor', reason: halted.reason, incidentId: null });

    expect(await resume(watchdog)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/has not heard the watchdog since/),
      halt: { halted: true, by: 'executor' },
    });
    watchdogHealth();
    await waitFor('the watchdog heard again', () =>
      ex.lines().some((l) => l.msg === 'the watchdog is heard again: its resume can now lift the self-halt'),
    );
    expect(await resume(watchdog)).toMatchObject({ ok: true, halt: { halted: false } });

    // Still nothing heard: a full SELF_HALT_AFTER_MS later it halts again, and a person lifts that at once.
    await waitFor('the second self-halt', () => ex.halt.current().by === 'executor');
    expect(
      await resume({ ...command, reason: 'the watchdog is down for maintenance; watching by hand' }),
    ).toMatchObject({
      ok: true,
      halt: { halted: false },
    });
    await ex.close();
    expect(env.events.filter((e) => e.event === 'halted')).toHaveLength(2);
  });

  it('never halts itself while the market is closed', async () => {
    // 16:30 New York on Tuesday 2026-01-06: after the close.
    env.sim.clock.set(Date.parse('2026-01-06T16:30:00-05:00'));
    const before = env.events.length;
    const ex = await startExecutor(env, { SELF_HALT_AFTER_MS: AFTER_MS });
    await sleep(3 * AFTER_MS);
    expect(ex.halt.current().halted).toBe(false);
    await ex.close();
    expect(env.events.slice(before)).toEqual([]);
  });
});
