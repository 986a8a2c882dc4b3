import { waitFor } from '@vigil/service-kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { settle, world, type World } from './harness.js';

// Enough symbols that a 4-symbol REST limit splits every backfill, poll and audit into several requests.
const LIQUID = Array.from({ length: 22 }, (_, i) => `S${String(i).padStart(2, '0')}`);
const SYMBOLS = [...LIQUID, 'BRK.B', 'ILLQ', 'QUIET'];
const FULL_MARKET = { SYMBOLS: '*', REST_SYMBOLS_PER_REQUEST: '4' };

let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

describe('market-gateway with SYMBOLS=* (the full market)', () => {
  it('subscribes to every symbol, keeps each complete across a drop, and resumes each after a restart', async () => {
    w = await world({ symbols: SYMBOLS, sparseSymbols: ['ILLQ', 'QUIET'], zombieGraceMs: 1500 });
    const first = await w.startGateway(FULL_MARKET);
    const gw = first.gateway;
    await waitFor('streaming', () => gw.supervisor.status().state === 'streaming', { timeoutMs: 10_000 });
    // The universe comes from the broker's assets before the stream has shown every symbol.
    await waitFor('the assets read', () => gw.heartbeat().symbolCount === SYMBOLS.length, { timeoutMs: 10_000 });
    expect(first.lines().some((l) => String(l.reason).includes('every symbol (*)'))).toBe(true);

    w.sim.faults.inject({ kind: 'drop' });
    await waitFor('down', () => gw.supervisor.status().state !== 'streaming', { timeoutMs: 10_000 });
    await waitFor('streaming again', () => gw.supervisor.status().state === 'streaming', { timeoutMs: 20_000 });
    expect(await settle(w, 4, SYMBOLS)).toEqual([]);

    const beat = gw.heartbeat();
    expect(beat).toMatchObject({ allSymbols: true, symbolCount: SYMBOLS.length });
    expect(beat.symbols.length).toBeGreaterThan(0);
    expect(Object.keys(beat.lastBarTBySymbol).sort()).toEqual([...beat.symbols].sort());
    // Every REST page went through the budget, by priority.
    const requests = await first.metrics.registry.getSingleMetricAsString('vigil_gateway_rest_requests_total');
    expect(requests).toMatch(/priority="backfill"[^}]*\} [1-9]/);
    expect(requests).toMatch(/priority="audit"[^}]*\} [1-9]/);

    // A restart with the assets unreadable: BARS alone tells the new gateway which symbols to resume.
    await gw.stop();
    w.sim.faults.inject({ kind: 'rest_error', scope: 'trading', route: 'GET /v2/assets', status: 500 });
    const minutesAway = w.sim.emittedBars('S00').length + 2;
    await waitFor('two minutes away', () => w!.sim.emittedBars('S00').length >= minutesAway, { timeoutMs: 10_000 });
    const second = await w.startGateway(FULL_MARKET);
    expect(second.gateway.heartbeat().symbolCount).toBeGreaterThanOrEqual(SYMBOLS.length - 1);
    await waitFor('streaming', () => second.gateway.supervisor.status().state === 'streaming', { timeoutMs: 10_000 });
    expect(await settle(w, 3, SYMBOLS)).toEqual([]);
    expect(second.lines().some((l) => String(l.msg).includes('cannot read the active assets'))).toBe(true);
  });
});
