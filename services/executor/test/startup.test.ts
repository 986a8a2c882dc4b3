// A new deployment: the executor starts before the strategy has created SIGNALS. Its commands must work at
// once (a person or the watchdog may need to halt or flatten), and signals are handled once SIGNALS exists.
import { jetstreamManager } from '@nats-io/jetstream';
import { commands, ensureStreams, streams } from '@vigil/contracts';
import { MarketClock, Metrics } from '@vigil/service-kit';
import { captureLogger, waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createExecutor } from '../src/executor.js';
import { command, request, startEnv, testConfig, type Env } from './harness.js';

let env: Env;
beforeAll(async () => {
  env = await startEnv();
  await (await jetstreamManager(env.nc)).streams.delete(streams.signals.name);
});
afterAll(async () => env?.stop());

it('answers commands before SIGNALS exists, and consumes signals once the strategy creates it', async () => {
  const { logger, lines } = captureLogger();
  const metrics = new Metrics('executor', { defaultMetrics: false });
  const clock = new MarketClock({ source: env.rest.clock, refreshMs: 60_000, logger, metrics });
  await clock.start();
  const executor = await createExecutor({
    nc: env.nc,
    rest: env.rest,
    brokerNow: () => clock.brokerNow(),
    market: () => ({ phase: clock.phase(), nextCloseMs: clock.nextCloseMs() }),
    config: testConfig,
    logger,
    metrics,
    version: '0.0.1-test',
  });
  try {
    const halted = await request(env, commands.executorHalt, { ...command, incidentId: 'early' });
    expect(halted).toMatchObject({ ok: true, halt: { halted: true } });
    expect(lines().some((l) => String(l.msg).startsWith('waiting for stream SIGNALS'))).toBe(true);
    expect(lines().some((l) => l.msg === 'executor consuming signals')).toBe(false);
    await ensureStreams(await jetstreamManager(env.nc), [streams.signals]);
    await waitFor('consuming once SIGNALS exists', () => lines().some((l) => l.msg === 'executor consuming signals'));
  } finally {
    await executor.stop();
    clock.stop();
  }
});
