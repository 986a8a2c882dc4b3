// Issue 14's outer ring, exercised: the whole system runs a simulated session while each of NATS and the four
// services is killed (SIGKILL) or frozen (SIGSTOP) in turn, and something still alive must notice: the
// watchdog's alerts for a service, an outside dead man's switch (a local HTTP receiver here) for the watchdog
// and for NATS. Shared by the test (bounds only) and the benchmark (figures in BENCHMARKS.md).
import { randomUUID } from 'node:crypto';
import type { Alert } from '@vigil/contracts';
import { type PingReceiver, pingReceiver, waitFor } from '@vigil/service-kit/testing';
import type { ServicePlan } from '../launcher/plan.js';
import { startSystem, type RunningSystem } from './system.js';

export type Target = 'nats' | ServicePlan['name'];
export type How = 'SIGKILL' | 'SIGSTOP';
export interface KillCase {
  target: Target;
  how: How;
}

export const KILL_CASES: KillCase[] = (['market-gateway', 'strategy', 'executor', 'watchdog', 'nats'] as const).flatMap(
  (target) => (['SIGKILL', 'SIGSTOP'] as const).map((how) => ({ target, how })),
);

/** Settings that make every detector quick (real milliseconds; the market runs at a minute per second). */
export const WATCH = {
  healthIntervalMs: 250,
  serviceDownAfterMs: 1_000,
  heartbeatTimeoutMs: 1_000,
  deadmanIntervalMs: 250,
} as const;

export interface WatchedSystem {
  system: RunningSystem;
  deadman: PingReceiver;
  stop(): Promise<Record<string, string | null>>;
}

/** The system with quick detectors and a dead man's switch pointed at a local receiver, in market hours. */
export async function startWatchedSystem(logDir: string): Promise<WatchedSystem> {
  const deadman = await pingReceiver();
  const health = { HEALTH_INTERVAL_MS: String(WATCH.healthIntervalMs) };
  const system = await startSystem({
    logDir,
    symbols: ['SPY', 'AAPL'],
    sparseSymbols: [],
    msPerMinute: 1000,
    simStart: '2026-01-06T09:29:00-05:00',
    env: {
      'market-gateway': { ...health, CLOCK_REFRESH_MS: '500', HEARTBEAT_INTERVAL_MS: '250', STALE_AFTER_MS: '2000' },
      strategy: { ...health, CLOCK_REFRESH_MS: '500' },
      executor: { ...health, CLOCK_REFRESH_MS: '500' },
      watchdog: {
        ...health,
        CLOCK_REFRESH_MS: '500',
        HEARTBEAT_TIMEOUT_MS: String(WATCH.heartbeatTimeoutMs),
        SERVICE_DOWN_AFTER_MS: String(WATCH.serviceDownAfterMs),
        DEADMAN_URL: `${deadman.base}/${randomUUID()}`,
        DEADMAN_INTERVAL_MS: String(WATCH.deadmanIntervalMs),
      },
    },
  });
  await system.ready(60_000);
  return {
    system,
    deadman,
    async stop() {
      const ended = await system.stop();
      await deadman.close();
      return ended;
    },
  };
}

export interface Detection {
  case: KillCase;
  /** What noticed: an alert kind, or the dead man's switch going quiet. */
  by: string;
  /** From the kill to the alert, or to the first ping that did not come. */
  afterMs: number;
}

/** Pings stopped: none for this many intervals counts as silence an outside service would page on. */
const SILENT_INTERVALS = 4;

/**
 * Kill or freeze one target, wait for what should notice, then bring the target back and wait until the
 * system is whole again (the alert resolved, or pings flowing), so the next case starts clean.
 */
export async function runKillCase(w: WatchedSystem, c: KillCase, timeoutMs = 30_000): Promise<Detection> {
  const { system, deadman } = w;
  const killedAt = Date.now();
  await strike(system, c);
  try {
    if (c.target === 'watchdog' || c.target === 'nats') {
      const silentFor = SILENT_INTERVALS * WATCH.deadmanIntervalMs;
      await waitFor(
        `dead man's pings to stop after ${c.how} of ${c.target}`,
        () => Date.now() - (deadman.lastAt() ?? 0) >= silentFor,
        {
          timeoutMs,
          intervalMs: 20,
        },
      );
      // The first ping that did not come was due one interval after the last that did (before or just after
      // the signal: a ping already on its way still lands).
      const firstMissed = (deadman.lastAt() ?? killedAt) + WATCH.deadmanIntervalMs;
      return { case: c, by: 'dead man pings stopped', afterMs: Math.max(0, firstMissed - killedAt) };
    }
    const alert = await waitFor(
      `an alert for ${c.how} of ${c.target}`,
      () => system.alerts.find((a) => a.status === 'open' && about(a, c.target) && Date.parse(a.at) >= killedAt),
      {
        timeoutMs,
        intervalMs: 20,
      },
    );
    return { case: c, by: alert.kind, afterMs: Date.parse(alert.at) - killedAt };
  } finally {
    await heal(w, c, killedAt, timeoutMs);
  }
}

/** Is this alert about `target` being gone (its opening or its resolution)? */
function about(a: Alert, target: Target): boolean {
  if (target === 'market-gateway' && a.kind === 'gateway_down') return true;
  return a.kind === 'service_down' && (a.details as { service?: unknown } | null)?.service === target;
}

async function strike(system: RunningSystem, c: KillCase): Promise<void> {
  if (c.target !== 'nats') {
    if (!system.processes[c.target].kill(c.how)) throw new Error(`${c.target} is not running: cannot send ${c.how}`);
    return;
  }
  if (c.how === 'SIGSTOP') await system.nats.pause();
  else await system.nats.stop({ kill: true });
}

async function heal(w: WatchedSystem, c: KillCase, killedAt: number, timeoutMs: number): Promise<void> {
  const { system, deadman } = w;
  if (c.target === 'nats') {
    if (c.how === 'SIGSTOP') await system.nats.resume();
    else await system.nats.start();
  } else if (c.how === 'SIGSTOP') system.processes[c.target].kill('SIGCONT');
  // A SIGKILLed service is restarted by the launcher's supervision, as compose or Kubernetes would.
  const since = Date.now();
  await waitFor(`${c.target} back after ${c.how}`, () => (deadman.lastAt() ?? 0) > since, {
    timeoutMs,
    intervalMs: 50,
  });
  if (c.target !== 'nats' && c.target !== 'watchdog') {
    await waitFor(
      `the alert for ${c.target} resolved`,
      () => system.alerts.some((a) => a.status === 'resolved' && Date.parse(a.at) >= killedAt && about(a, c.target)),
      { timeoutMs, intervalMs: 50 },
    );
  }
}
