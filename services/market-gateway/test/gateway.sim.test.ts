import { waitFor } from '@vigil/service-kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/gateway.js';
import { settle, world, type World } from './harness.js';

let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

describe('market-gateway against the simulator and a real nats-server', () => {
  it('streams every bar exactly once, tags sources, and the illiquid symbol does not cause reconnects', async () => {
    w = await world();
    const { gateway } = await w.startGateway();
    await waitFor('streaming', () => gateway.supervisor.status().state === 'streaming', { timeoutMs: 10_000 });
    expect(await settle(w, 12)).toEqual([]);
    const stored = await w.storedBars();
    expect(stored.some((b) => b.source === 'live')).toBe(true);
    // receivedAt is our projection of the broker's clock: after the bar's minute closed, give or take a few broker seconds.
    expect(
      stored
        .filter((b) => b.feed !== 'iex' || Date.parse(b.receivedAt) < Date.parse(b.t) + 55_000)
        .map((b) => [b.symbol, b.t, b.source, b.receivedAt]),
    ).toEqual([]);
    expect(gateway.supervisor.status().reconnects).toBe(0);
    const sparse = w.sim.emittedBars('ILLQ').length;
    expect(sparse).toBeLessThan(w.sim.emittedBars('SPY').length);
  });

  it('rides out an unclean drop and the 406 lock-out that follows, polling REST meanwhile, losing nothing', async () => {
    w = await world({ zombieGraceMs: 2500 });
    const { gateway, metrics, lines } = await w.startGateway();
    await waitFor('streaming', () => gateway.supervisor.status().state === 'streaming', { timeoutMs: 10_000 });
    await settle(w, 3);
    w.sim.faults.inject({ kind: 'drop' });
    await waitFor('406 lock-out', () => gateway.supervisor.status().state === 'limited', { timeoutMs: 10_000 });
    let beat = await waitFor(
      'outage polling',
      () => {
        const b = gateway.heartbeat();
        return b.dataPath === 'polling' && b;
      },
      { timeoutMs: 10_000 },
    );
    expect(beat.polling).toBe(true);
    expect(beat.liveDownSince).not.toBeNull();
    // Polling starts only after the stream has been down a while.
    expect(Date.parse(beat.dataPathSince)).toBeGreaterThanOrEqual(Date.parse(beat.liveDownSince!));
    beat = await waitFor(
      'live again',
      () => {
        const b = gateway.heartbeat();
        return b.dataPath === 'live' && b;
      },
      { timeoutMs: 20_000 },
    );
    expect(beat.liveDownSince).toBeNull();
    expect(await settle(w, 4)).toEqual([]);
    const stored = await w.storedBars();
    expect(stored.some((b) => b.source === 'poll' || b.source === 'backfill')).toBe(true);
    expect(lines().some((l) => l.msg === 'feed limited' && String(l.reason).includes('406'))).toBe(true);
    expect(lines().some((l) => l.msg === 'data path none' && l.level === 40)).toBe(true);
    expect(await metrics.registry.metrics()).toMatch(
      /vigil_gateway_data_path_changes_total\{path="polling",service="market-gateway"\} [1-9]/,
    );
  });

  it('reconnects a stream that answers pings but delivers nothing (data layer), closing it cleanly so no 406 follows', async () => {
    w = await world();
    const { gateway, metrics, lines } = await w.startGateway();
    await waitFor('streaming', () => gateway.supervisor.status().state === 'streaming', { timeoutMs: 10_000 });
    w.sim.faults.inject({ kind: 'stall', durationMs: 1500 });
    await waitFor(
      'stale reconnect',
      async () => /vigil_gateway_reconnects_total\{cause="stale"/.test(await metrics.registry.metrics()),
      { timeoutMs: 10_000 },
    );
    expect(await settle(w, 4)).toEqual([]);
    // The stalled session still read our close frame, so Alpaca (here the simulator) freed the key at once.
    expect(lines().filter((l) => l.msg === 'feed limited')).toEqual([]);
    expect(w.sim.status().zombies).toEqual([]);
  });

  it('terminates a frozen transport on a missing pong (transport layer)', async () => {
    w = await world();
    const { gateway, metrics } = await w.startGateway();
    await waitFor('streaming', () => gateway.supervisor.status().state === 'streaming', { timeoutMs: 10_000 });
    w.sim.faults.inject({ kind: 'blackhole', durationMs: 1000 });
    await waitFor(
      'pong timeout',
      async () => /vigil_gateway_reconnects_total\{cause="pong_timeout"/.test(await metrics.registry.metrics()),
      { timeoutMs: 10_000 },
    );
    expect(await settle(w, 4)).toEqual([]);
  });

  it('cuts off a hanging handshake and recovers', async () => {
    w = await world();
    const { gateway, metrics } = await w.startGateway();
    await waitFor('streaming', () => gateway.supervisor.status().state === 'streaming', { timeoutMs: 10_000 });
    w.sim.faults.inject({ kind: 'handshake_hang', durationMs: 1500 });
    w.sim.faults.inject({ kind: 'drop' });
    await waitFor(
      'handshake timeout',
      async () => /vigil_gateway_reconnects_total\{cause="handshake_timeout"/.test(await metrics.registry.metrics()),
      { timeoutMs: 10_000 },
    );
    expect(await settle(w, 4)).toEqual([]);
  });

  it('a restarted gateway resumes from the stream and fills its own gap', async () => {
    w = await world();
    const first = await w.startGateway();
    await waitFor('streaming', () => first.gateway.supervisor.status().state === 'streaming', { timeoutMs: 10_000 });
    await settle(w, 3);
    await first.gateway.stop();
    const down = w.sim.emittedBars('SPY').length;
    await waitFor('minutes pass while the gateway is down', () => w!.sim.emittedBars('SPY').length >= down + 5, {
      timeoutMs: 10_000,
    });
    const second = await w.startGateway();
    await waitFor('streaming again', () => second.gateway.supervisor.status().state === 'streaming', {
      timeoutMs: 10_000,
    });
    expect(await settle(w, 3)).toEqual([]);
    expect((await w.storedBars()).filter((b) => b.source !== 'live').length).toBeGreaterThanOrEqual(5);
  });

  it('survives malformed frames, garbage and an impossible bar without losing a bar', async () => {
    w = await world();
    const { gateway, metrics } = await w.startGateway();
    await waitFor('streaming', () => gateway.supervisor.status().state === 'streaming', { timeoutMs: 10_000 });
    w.sim.faults.inject({ kind: 'malformed_frames', everyN: 2, durationMs: 1500 });
    w.sim.faults.inject({ kind: 'garbage' });
    expect(await settle(w, 8)).toEqual([]);
    const figures = await metrics.registry.metrics();
    expect(figures).toMatch(/vigil_gateway_invalid_stream_messages_total\{service="market-gateway"\} [1-9]/);
    // The simulator's garbage includes a well-formed bar with low above high: dropped at the edge, counted,
    // and it blocked nothing (settle above found every bar stored).
    expect(figures).toMatch(/vigil_gateway_invalid_bars_total\{source="live",service="market-gateway"\} [1-9]/);
  });

  it('reports auth_failed on rejected keys and recovers after a commanded reconnect', async () => {
    w = await world();
    w.sim.faults.inject({ kind: 'auth_fail', durationMs: 800 });
    const { gateway } = await w.startGateway({ AUTH_RETRY_MS: '600000' });
    await waitFor('auth_failed', () => gateway.supervisor.status().state === 'auth_failed', { timeoutMs: 10_000 });
    expect(gateway.heartbeat().state).toBe('auth_failed');
    await new Promise((r) => setTimeout(r, 900));
    gateway.supervisor.forceReconnect('keys rotated');
    await waitFor('streaming after the command', () => gateway.supervisor.status().state === 'streaming', {
      timeoutMs: 10_000,
    });
  });

  it('stores every bar once across abrupt closes, with a clock that reports only the minute start', async () => {
    // Issue 16: an Alpaca stand-in whose clock reports the minute's start lost 1 to 3 bars per symbol on
    // abrupt closes at 240x with the default clock refresh. Here: 240x, a 30 s refresh (the estimate runs up to
    // two market hours stale), an unclean drop every three market minutes.
    w = await world({ clock: { msPerMinute: 250, reportResolutionMs: 60_000 }, zombieGraceMs: 500 });
    const { gateway } = await w.startGateway({ CLOCK_REFRESH_MS: '30000' });
    await dropEveryThreeMinutes(w, gateway, 6);
    expect(await settle(w, 4)).toEqual([]);
    expect(gateway.supervisor.status().reconnects).toBeGreaterThanOrEqual(6);
  }, 90_000);

  it("settles a symbol's minutes only from its own REST bars: a lagging symbol's lost bars come back by gap check", async () => {
    // Issue 16: no minute settled from a clock estimate or from another symbol's bars. AAPL's REST runs 70 s behind
    // the stream and the others', more than a minute, so the backfill after each unclean drop always lacks the
    // last AAPL minute the dead stream took. Only a per-symbol check when AAPL's next live bar skips it brings it
    // back (its second answer, 100 ms = 40 market seconds later, reaches it); otherwise the audit has to (counted
    // as missing).
    w = await world({ zombieGraceMs: 500 });
    w.sim.faults.inject({ kind: 'rest_lag', lagMs: 70_000, symbols: ['AAPL'] });
    const { gateway, metrics } = await w.startGateway();
    await dropEveryThreeMinutes(w, gateway, 6);
    expect(await settle(w, 4)).toEqual([]);
    const figures = await metrics.registry.metrics();
    expect(figures).not.toMatch(/vigil_gateway_audit_repairs_total\{[^}]*kind="missing"[^}]*\} [1-9]/);
    expect(figures).toMatch(/vigil_gateway_gap_checks_total\{[^}]*outcome="settled"[^}]*\} [1-9]/);
    expect(figures).toMatch(/vigil_gateway_rest_bars_total\{[^}]*source="gap_check"[^}]*\} [1-9]/);
  }, 90_000);

  it('gives up a gap check after three answers short of the live bar, says so, and the audit fills the hole', async () => {
    // AAPL's REST runs ten market minutes behind: the check its first live bar asks for cannot settle the minute
    // before it. The live bars must not wait for REST to catch up; the audit stores that minute once REST has it.
    w = await world();
    w.sim.faults.inject({ kind: 'rest_lag', lagMs: 600_000, symbols: ['AAPL'] });
    const { gateway, metrics, lines } = await w.startGateway({ AUDIT_INTERVAL_MS: '1000', AUDIT_LAG_MS: '0' });
    await waitFor('streaming', () => gateway.supervisor.status().state === 'streaming', { timeoutMs: 10_000 });
    await waitFor('the give-up', () => lines().some((l) => /REST has not caught up/.test(String(l.msg))), {
      timeoutMs: 10_000,
    });
    // AAPL's live bars go on meanwhile, and the audit fills what the check could not confirm.
    expect(await settle(w, 15)).toEqual([]);
    const stored = await w.storedBars();
    expect(stored.some((b) => b.symbol === 'AAPL' && b.source === 'live')).toBe(true);
    expect(stored.some((b) => b.symbol === 'AAPL' && b.source === 'audit')).toBe(true);
    const figures = await metrics.registry.metrics();
    expect(figures).toMatch(/vigil_gateway_gap_checks_total\{[^}]*outcome="unsettled"[^}]*\} [1-9]/);
    expect(figures).toMatch(/vigil_gateway_audit_repairs_total\{[^}]*kind="missing"[^}]*\} [1-9]/);
  }, 60_000);
});

/** `drops` unclean drops, three market minutes apart, then the stream back up. */
async function dropEveryThreeMinutes(world_: World, gateway: Gateway, drops: number): Promise<void> {
  const streaming = () => gateway.supervisor.status().state === 'streaming';
  await waitFor('streaming', streaming, { timeoutMs: 10_000 });
  for (let drop = 0; drop < drops; drop++) {
    await settle(world_, 3);
    // Each drop must hit a live stream: settling can finish on polled bars while the last drop's 406 lock-out
    // still holds the stream down, and a drop then has nothing to cut.
    await waitFor('streaming before the drop', streaming, { timeoutMs: 15_000 });
    world_.sim.faults.inject({ kind: 'drop' });
  }
  await waitFor('streaming again', streaming, { timeoutMs: 15_000 });
}
