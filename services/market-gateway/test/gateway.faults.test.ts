import type { RequestError } from '@nats-io/transport-node';
import type { FaultSpec } from '@vigil/alpaca-sim';
import { commands, decodeAs } from '@vigil/contracts';
import { requestCommand } from '@vigil/service-kit';
import { waitFor } from '@vigil/service-kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { settle, world, type World } from './harness.js';

let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const reconnectsBy = async (metrics: { registry: { metrics(): Promise<string> } }) => {
  const text = await metrics.registry.metrics();
  return [...text.matchAll(/vigil_gateway_reconnects_total\{cause="([^"]+)"/g)].map((m) => m[1]);
};

/**
 * Each simulator fault, injected into a streaming session: the gateway must notice (leave `streaming`,
 * or for data faults simply cope), recover, and afterwards the stream holds every bar exactly once.
 */
const faults: {
  name: string;
  spec: Record<string, unknown> /** the fault itself ends the connection */;
  detects: boolean;
}[] = [
  { name: 'close', spec: { kind: 'close', code: 1001, reason: 'going away' }, detects: true },
  { name: 'unsubscribe', spec: { kind: 'unsubscribe' }, detects: true },
  { name: 'refuse', spec: { kind: 'refuse', durationMs: 800 }, detects: false },
  {
    name: 'handshake-429',
    spec: { kind: 'reject_upgrade', status: 429, retryAfterSec: 1, durationMs: 800 },
    detects: false,
  },
  { name: 'auth-silent', spec: { kind: 'auth_silent', durationMs: 800 }, detects: false },
  { name: 'conn-limit', spec: { kind: 'conn_limit', count: 2 }, detects: false },
  { name: 'duplicate', spec: { kind: 'duplicate_bars', durationMs: 1500 }, detects: false },
  { name: 'out-of-order', spec: { kind: 'out_of_order', durationMs: 1500 }, detects: false },
  { name: 'slow', spec: { kind: 'slow', delayMs: 100, durationMs: 1500 }, detects: false },
];

describe('market-gateway through every simulator fault', () => {
  for (const f of faults) {
    it(`${f.name}: recovers and stores every bar exactly once, in order`, async () => {
      w = await world();
      const { gateway } = await w.startGateway();
      await waitFor('streaming', () => gateway.supervisor.status().state === 'streaming', { timeoutMs: 10_000 });
      await settle(w, 2);
      // Faults that act on new connections need one: drop the current one cleanly after injecting.
      const before = gateway.supervisor.status().reconnects;
      w.sim.faults.inject(f.spec as FaultSpec);
      if (!f.detects) w.sim.faults.inject({ kind: 'close', code: 1012, reason: 'restart' } as FaultSpec);
      await waitFor('the gateway to notice', () => gateway.supervisor.status().reconnects > before, {
        timeoutMs: 10_000,
      });
      await waitFor('streaming again', () => gateway.supervisor.status().state === 'streaming', { timeoutMs: 20_000 });
      expect(await settle(w, 4)).toEqual([]);
    });
  }

  it('NATS restart: bars wait in the buffer and none is lost or doubled', async () => {
    w = await world();
    const { gateway } = await w.startGateway();
    await waitFor('streaming', () => gateway.supervisor.status().state === 'streaming', { timeoutMs: 10_000 });
    await settle(w, 2);
    await w.server.stop();
    const before = w.sim.emittedBars('SPY').length;
    await waitFor('bars while NATS is down', () => w!.sim.emittedBars('SPY').length >= before + 4, {
      timeoutMs: 10_000,
    });
    expect(gateway.heartbeat().bufferedBars).toBeGreaterThan(0);
    await w.server.start();
    expect(await settle(w, 3)).toEqual([]);
  });

  it('market closed: a silent stream after the close causes no reconnect storm', async () => {
    w = await world({ clock: { start: '2026-01-06T15:57:00-05:00' } });
    const { gateway, metrics } = await w.startGateway();
    await waitFor('streaming', () => gateway.supervisor.status().state === 'streaming', { timeoutMs: 10_000 });
    await waitFor('the close', () => gateway.clock.phase() === 'closed', { timeoutMs: 10_000 });
    // 3 s of ours is 20 simulated minutes: far past STALE_AFTER_MS with no data at all.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await reconnectsBy(metrics)).toEqual([]);
    expect(gateway.supervisor.status().state).toBe('streaming');
    expect(gateway.heartbeat().marketOpen).toBe(false);
  });

  it('answers cmd.gateway.reconnect once resubscribed, status, and bad requests, as a NATS service', async () => {
    w = await world();
    const { gateway } = await w.startGateway();
    await waitFor('streaming', () => gateway.supervisor.status().state === 'streaming', { timeoutMs: 10_000 });
    const reply = await requestCommand(
      w.nc,
      commands.gatewayReconnect,
      { v: 1, requestedBy: 'test', reason: 'checking the command' },
      { timeoutMs: 5000 },
    );
    expect(reply).toMatchObject({ ok: true, state: 'streaming' });
    expect(gateway.supervisor.status().reconnects).toBe(1);

    const status = await requestCommand(w.nc, commands.gatewayStatus, { v: 1 }, { timeoutMs: 2000 });
    expect(status.status).toMatchObject({ state: 'streaming', symbols: ['SPY', 'AAPL', 'ILLQ'], reconnects: 1 });

    // Sent raw: requestCommand would refuse to send it.
    const raw = await w.nc.request(commands.gatewayReconnect.subject, '{"v":1}', { timeout: 2000 });
    const bad = decodeAs(commands.gatewayReconnect.reply, commands.gatewayReconnect.subject, raw.data);
    expect(bad.ok && bad.value.ok).toBe(false);
    expect(bad.ok && bad.value.error).toMatch(/requestedBy/);

    const ping = await w.nc.request('$SRV.PING.market-gateway', '', { timeout: 2000 }).catch((e: RequestError) => e);
    expect(ping).not.toBeInstanceOf(Error);
  });
});
