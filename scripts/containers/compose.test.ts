// Issue 15's container suite: the image built, the compose stack up on the simulator, and what an operator of
// `docker compose` will do to it: pause the gateway, kill NATS, restart the gateway, lose a node of the ha
// cluster, kill the gateway holding the lease, take it all down. Each stack is its own project (`vigil-ct-…`) on free host ports, with its own env
// file: a developer's .env, own stack and local nats-server on 4222 are never touched. Waits are generous;
// nothing here asserts a time (BENCHMARKS.md has the figures).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { type Alert, decodeAs, GatewayLease, kvBuckets } from '@vigil/contracts';
import { waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastCommonMinute, ledgerFaults } from './bar-ledger.js';
import { ensureCerts, HA_THRESHOLDS } from './compose-env.js';
import { dockerUnavailable, reapOrphanedStacks } from './compose-stack.js';
import { healthz, SERVICES } from './ops-watch.js';
import { startTestStack, type TestStack } from './test-stack.js';

const unavailable = dockerUnavailable();
const title = unavailable ? `container suite skipped: ${unavailable}` : 'docker compose';
// The one line a run without an engine shows (the wrapper decides whether a skip is allowed).
if (unavailable) console.warn(title);
const WAIT = { timeoutMs: 90_000, intervalMs: 500 };

/** Alerts stored in ALERTS since `since` (wall ms; the containers share this host's clock). */
async function alertsSince(s: TestStack, since: number): Promise<Alert[]> {
  return (await s.ops.alerts()).filter((a) => Date.parse(a.at) >= since);
}

/** The replica holding the gateway lease, as ops reads it from KV; null while nobody holds it. */
async function leaseHolder(s: TestStack): Promise<string | null> {
  const kv = await new Kvm(s.ops.nc).open(kvBuckets.gatewayLeader.name);
  const entry = await kv.get('leader');
  if (entry?.operation !== 'PUT') return null;
  const lease = decodeAs(GatewayLease, 'gateway lease', entry.value);
  return lease.ok ? lease.value.holder : null;
}

/** Every service sent a health report after `since`, and answers /healthz on its host port. */
async function allReportingSince(s: TestStack, since: number): Promise<boolean> {
  const p = s.settings.ports;
  const ports = [p.gateway, p.strategy, p.executor, p.watchdog];
  const reported = SERVICES.every((name) => (s.ops.health.get(name)?.receivedAt ?? 0) > since);
  return reported && (await Promise.all(ports.map(healthz))).every(Boolean);
}

/** The executor's `halted` figure, from a health report received after `since`. */
function executorHalted(s: TestStack, since: number): number | null {
  const h = s.ops.health.get('executor');
  return h && h.receivedAt > since ? (h.report.figures.halted ?? null) : null;
}

/** What the stack looked like, for a failure's message: alerts since `since` and the services' last reports. */
async function explain(s: TestStack, since: number, err: unknown): Promise<never> {
  const alerts = await alertsSince(s, since).catch((e: Error) => e.message);
  const lines =
    typeof alerts === 'string'
      ? [`  (ALERTS not read: ${alerts})`]
      : alerts.map((a) => `  ${a.at} ${a.kind} ${a.status} ${a.incidentId ?? ''}: ${a.message}`);
  const health = [...s.ops.health].map(
    ([name, h]) =>
      `  ${name} ${h.report.status} ${new Date(h.receivedAt).toISOString()} ${JSON.stringify(h.report.figures)}`,
  );
  throw new Error(
    `${(err as Error).message}\nalerts since ${new Date(since).toISOString()}:\n${lines.join('\n')}\nhealth:\n${health.join('\n')}`,
  );
}

describe.skipIf(unavailable !== null)(title, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-ct-'));
    await ensureCerts();
    // Stacks left by a run that was killed before its afterAll (they would hold CPU and ports).
    const reaped = await reapOrphanedStacks();
    if (reaped.length) console.warn(`removed test stacks of runs that no longer exist: ${reaped.join(', ')}`);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('one NATS server, on the simulator', () => {
    let s: TestStack;
    beforeAll(async () => {
      s = await startTestStack(dir, false);
    });
    afterAll(async () => {
      await s?.end();
    });

    it('1. bars reach BARS, each symbol and minute once', async () => {
      const ledger = await s.barsAdvance(3, WAIT.timeoutMs);
      for (const symbol of s.settings.symbols) expect(ledger[symbol]!.minutes, symbol).toBeGreaterThanOrEqual(3);
      expect(ledgerFaults(ledger)).toEqual({});
    });

    it('2. pause market-gateway: gateway_down, no_bar, a halt; unpause: resolved and resumed', async () => {
      const pausedAt = Date.now();
      await s.stack.compose(['pause', 'market-gateway']);
      let opened: Alert[] = [];
      try {
        opened = await waitFor(
          'gateway_down, no_bar and stale_halt open, and the executor halted',
          async () => {
            const alerts = (await alertsSince(s, pausedAt)).filter((a) => a.status === 'open');
            const kinds = new Set(alerts.map((a) => a.kind));
            const all = kinds.has('gateway_down') && kinds.has('no_bar') && kinds.has('stale_halt');
            return all && executorHalted(s, pausedAt) === 1 && alerts;
          },
          WAIT,
        ).catch((err) => explain(s, pausedAt, err));
      } finally {
        await s.stack.compose(['unpause', 'market-gateway']);
      }
      const noBar = opened.find((a) => a.kind === 'no_bar')!;
      const down = opened.find((a) => a.kind === 'gateway_down')!;
      expect(noBar.severity).toBe('critical');
      expect(down.severity).toBe('critical');
      expect(opened.find((a) => a.kind === 'stale_halt')!.incidentId).toBe(noBar.incidentId);

      const resolved = await waitFor(
        'gateway_down resolved, resumed for the no_bar incident, and the executor trading again',
        async () => {
          const alerts = (await alertsSince(s, pausedAt)).filter((a) => a.status === 'resolved');
          const back = alerts.find((a) => a.kind === 'gateway_down' && a.incidentId === down.incidentId);
          const resumed = alerts.find((a) => a.kind === 'resumed' && a.incidentId === noBar.incidentId);
          return back && resumed && executorHalted(s, Date.parse(resumed.at)) === 0 && { back, resumed };
        },
        WAIT,
      ).catch((err) => explain(s, pausedAt, err));
      expect(resolved.resumed.durationMs).toBeGreaterThan(0);
      // And bars flow again, each once.
      expect(ledgerFaults(await s.barsAdvance(2, WAIT.timeoutMs))).toEqual({});
    });

    it('3. kill nats, start it: every service reconnects, and BARS has every bar exactly once', async () => {
      const before = await s.barsAdvance(1, WAIT.timeoutMs);
      const killedAt = Date.now();
      await s.stack.compose(['kill', 'nats']);
      // Down for three market minutes: bars the gateway must hold and publish once NATS is back.
      await new Promise((r) => setTimeout(r, 3 * s.settings.msPerMinute));
      await s.stack.compose(['start', 'nats']);
      const startedAt = Date.now();
      await waitFor(
        'every service reporting and healthy after NATS came back',
        () => allReportingSince(s, startedAt),
        WAIT,
      ).catch((err) => explain(s, killedAt, err));

      await s.barsAdvance(3, WAIT.timeoutMs);
      const settled = await s.settled(WAIT.timeoutMs);
      expect(ledgerFaults(settled.ledger)).toEqual({});
      // Every minute from before the kill to three after it is there (no hole), each once.
      const from = lastCommonMinute(before)!;
      for (const symbol of s.settings.symbols) expect(settled.ledger[symbol]!.first! <= from, symbol).toBe(true);
    });

    it('4. restart market-gateway: every bar exactly once; stopped for two minutes: it backfills them', async () => {
      await s.barsAdvance(1, WAIT.timeoutMs);
      await s.stack.compose(['restart', 'market-gateway']);
      await waitFor('the gateway healthy again', () => healthz(s.settings.ports.gateway), WAIT);
      await s.barsAdvance(2, WAIT.timeoutMs);
      expect(ledgerFaults((await s.settled(WAIT.timeoutMs)).ledger)).toEqual({});

      // A restart here is often quicker than a market minute (2 s), so it may miss no bar at all (seen in CI). Away
      // for two minutes, the gateway must fetch what it missed from REST: by the backfill its subscription starts,
      // or by the outage poller when the stream comes up later than POLL_AFTER_MS, whichever gets there first.
      const before = await s.barsAdvance(1, WAIT.timeoutMs);
      await s.stack.compose(['stop', 'market-gateway']);
      await new Promise((r) => setTimeout(r, 2 * s.settings.msPerMinute));
      await s.stack.compose(['start', 'market-gateway']);
      await waitFor('the gateway healthy again', () => healthz(s.settings.ports.gateway), WAIT);
      await s.barsAdvance(3, WAIT.timeoutMs);
      const now = await s.settled(WAIT.timeoutMs);
      expect(ledgerFaults(now.ledger)).toEqual({});
      const from = Date.parse(lastCommonMinute(before)!);
      const fetched = now.bars.filter(
        (b) => (b.source === 'backfill' || b.source === 'poll') && Date.parse(b.t) > from,
      );
      expect(fetched.length).toBeGreaterThan(0);
    });

    it('6. down -v leaves no container, network or volume of the project', async () => {
      expect(await s.end()).toBeNull();
      expect(await s.stack.leftovers()).toEqual({ containers: [], networks: [], volumes: [] });
    });
  });

  describe('three NATS nodes (--profile ha), streams at three replicas', () => {
    let s: TestStack;
    beforeAll(async () => {
      s = await startTestStack(dir, true);
    });
    afterAll(async () => {
      await s?.end();
    });

    it('5. kill one node of three: bars continue exactly once, and no incident opens', async () => {
      await s.barsAdvance(2, WAIT.timeoutMs);
      const bars = await (await jetstreamManager(s.ops.nc)).streams.info('BARS');
      expect(bars.config.num_replicas).toBe(3);
      // The stream's leader, unless it is nats-1 (the ops login's only way in): then a follower.
      const leader = bars.cluster?.leader ?? '';
      const victim = ['nats-2', 'nats-3'].includes(leader) ? leader : 'nats-2';
      const restartsBefore = await s.stack.restarts();
      const holderBefore = await leaseHolder(s);
      const killedAt = Date.now();
      await s.stack.compose(['kill', victim]);
      expect(await s.stack.ps()).toMatch(new RegExp(`^${victim} exited`, 'm'));

      await waitFor('every service reporting after the node died', () => allReportingSince(s, killedAt + 2000), WAIT);
      // Past every detector's threshold: the longest is UNMANAGED_ALERT_MS (FLATTEN_AFTER_MS only follows an incident).
      const pastThresholds = Math.ceil(Number(HA_THRESHOLDS.UNMANAGED_ALERT_MS) / s.settings.msPerMinute) + 2;
      await s.barsAdvance(pastThresholds, WAIT.timeoutMs);
      expect(ledgerFaults((await s.settled(WAIT.timeoutMs)).ledger)).toEqual({});
      // When the victim also led the lease's KV stream, renewals can fail through the election for longer than the
      // lease's margin (seen: 14 s of "no responders" in CI): the holder then steps down and the standby streams, as
      // it must (test 7). That take-over's feed connection is the one alert allowed, as info; no incident opens.
      const tookOver = (await leaseHolder(s)) !== holderBefore;
      const alerts = (await alertsSince(s, killedAt)).filter(
        (a) => !(tookOver && a.kind === 'reconnect' && a.status === 'info'),
      );
      expect(
        alerts.map((a) => `${a.kind} ${a.status}: ${a.message}`),
        `after killing ${victim} (leader ${leader}; the lease ${tookOver ? 'moved' : 'stayed'})`,
      ).toEqual([]);
      // No service crashed and was restarted over it either.
      const restarted = Object.entries(await s.stack.restarts()).filter(
        ([n, c]) => c !== restartsBefore[n] && !n.endsWith(`-${victim}-1`),
      );
      expect(restarted).toEqual([]);
    });

    it('7. kill the gateway that holds the lease: the standby streams, and BARS has every bar exactly once', async () => {
      const holder = await waitFor('a gateway holding the lease', () => leaseHolder(s).catch(() => null), WAIT);
      // REPLICA_ID in docker-compose.yml: market-gateway-1 is `market-gateway`, market-gateway-2 the standby.
      const [victim, heir] =
        holder === 'market-gateway-1'
          ? ['market-gateway', 'market-gateway-2']
          : ['market-gateway-standby', 'market-gateway-1'];
      await s.barsAdvance(1, WAIT.timeoutMs);
      await s.stack.compose(['kill', victim]);
      await waitFor(`${heir} holding the lease`, async () => (await leaseHolder(s).catch(() => null)) === heir, WAIT);
      await s.barsAdvance(3, WAIT.timeoutMs);
      expect(ledgerFaults((await s.settled(WAIT.timeoutMs)).ledger)).toEqual({});
    });

    it('6. down -v leaves no container, network or volume of the ha project', async () => {
      expect(await s.end()).toBeNull();
      expect(await s.stack.leftovers()).toEqual({ containers: [], networks: [], volumes: [] });
    });
  });
});
