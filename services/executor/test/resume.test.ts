// Who may lift a halt, against a real nats-server and the simulator: the watchdog only its own, for the
// incident it names, and not after a flatten (RESUME_AFTER_FLATTEN=manual); a person always.
import { commands, type CommandRequest } from '@vigil/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command, request, startEnv, startExecutor, type Env } from './harness.js';

let env: Env;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => env?.stop());

const watchdog = { ...command, requestedBy: 'watchdog-test', by: 'watchdog' } as const;
const halt = (body: CommandRequest<typeof commands.executorHalt>) => request(env, commands.executorHalt, body);
const resume = (body: CommandRequest<typeof commands.executorResume>) => request(env, commands.executorResume, body);

describe('resume', () => {
  it('the watchdog lifts its own halt only for the incident it names', async () => {
    const ex = await startExecutor(env);
    expect(await halt({ ...watchdog, incidentId: 'stale-a' })).toMatchObject({
      ok: true,
      halt: { halted: true, by: 'watchdog', incidentId: 'stale-a' },
    });
    const wrong = await resume({ ...watchdog, incidentId: 'stale-b' });
    expect(wrong).toMatchObject({
      ok: false,
      error: expect.stringMatching(/halt is for incident stale-a, not stale-b/),
      halt: { halted: true },
    });
    expect(await resume({ ...watchdog, incidentId: 'stale-a' })).toMatchObject({ ok: true, halt: { halted: false } });
    await ex.close();
  });

  it('a halt a person set (a request that does not say who) is lifted only by a person, across a restart', async () => {
    let ex = await startExecutor(env);
    const { by: _by, ...handTyped } = command;
    expect(await halt({ ...handTyped, reason: 'looking into fills' })).toMatchObject({
      ok: true,
      halt: { by: 'person' },
    });
    await ex.close();
    ex = await startExecutor(env);
    expect(await resume({ ...watchdog })).toMatchObject({ ok: false, error: expect.stringMatching(/only a person/) });
    expect(await resume({ ...command })).toMatchObject({ ok: true, halt: { halted: false } });
    await ex.close();
  });

  it('after a flatten only a person resumes with RESUME_AFTER_FLATTEN=manual (default); auto lets the watchdog', async () => {
    let ex = await startExecutor(env);
    env.sim.broker.submit({ symbol: 'SPY', side: 'buy', type: 'market', time_in_force: 'day', qty: '2' });
    const flat = await request(env, commands.executorFlatten, { ...watchdog, incidentId: 'stale-c' });
    expect(flat).toMatchObject({ ok: true, halt: { halted: true, flattened: true, incidentId: 'stale-c' } });
    expect(await resume({ ...watchdog, incidentId: 'stale-c' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/flattened: a person must resume/),
    });
    await ex.close();

    ex = await startExecutor(env, { RESUME_AFTER_FLATTEN: 'auto' });
    expect(await resume({ ...watchdog, incidentId: 'stale-c' })).toMatchObject({ ok: true, halt: { halted: false } });
    await ex.close();
  });
});
