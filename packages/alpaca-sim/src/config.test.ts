import { parseConfig } from '@vigil/service-kit';
import { describe, expect, it } from 'vitest';
import { argvToEnv, simConfig } from './config.js';

describe('sim config', () => {
  it('takes flags over environment variables and applies defaults', () => {
    const { env } = argvToEnv(['--port', '4100', '--minute-ms', '500', '--symbols', 'spy,aapl'], {
      SIM_PORT: '1',
      SIM_SEED: '9',
    });
    const cfg = parseConfig(simConfig, env);
    expect(cfg).toMatchObject({
      SIM_PORT: 4100,
      SIM_MINUTE_MS: 500,
      SIM_SYMBOLS: ['SPY', 'AAPL'],
      SIM_SEED: 9,
      SIM_KEY_ID: 'SIMKEY',
      SIM_ZOMBIE_GRACE_MS: 90_000,
      SIM_MARGIN: false,
    });
    expect(parseConfig(simConfig, argvToEnv(['--margin', 'true'], {}).env).SIM_MARGIN).toBe(true);
    expect(parseConfig(simConfig, { SIM_MARGIN: 'true' }).SIM_MARGIN).toBe(true);
  });

  it('names every bad variable and rejects unknown flags', () => {
    expect(() => parseConfig(simConfig, { SIM_PORT: 'x', SIM_START: 'yesterday' })).toThrow(
      /SIM_PORT[\s\S]*SIM_START|SIM_START[\s\S]*SIM_PORT/,
    );
    expect(() => argvToEnv(['--nope'], {})).toThrow();
    expect(argvToEnv(['--help'], {}).help).toBe(true);
  });
});
