import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

it('exits with code 2 and names every bad variable, before connecting anywhere', async () => {
  const child = spawn(process.execPath, ['--conditions=vigil-source', '--import', 'tsx', main], {
    // Port 1 is never a NATS server: had config passed, the process would hang connecting instead of exiting 2.
    env: {
      PATH: process.env.PATH,
      NATS_URL: 'nats://127.0.0.1:1',
      MAX_POSITION_QTY: '-5',
      EXTENDED_HOURS: 'true',
      SYMBOLS: 'SPY,$$$',
      ALLOW_SHORT: 'maybe',
      FLATTEN_SCOPE: 'all',
      ALPACA_TRADING_URL: 'paper-api',
      APCA_API_SECRET_KEY: 'sekrit-value-123',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(2);
  expect(err).toMatch(/MAX_POSITION_QTY: .*\(got "-5"\)/);
  expect(err).toMatch(/ALPACA_TRADING_URL: expected an http\(s\) URL/);
  expect(err).toMatch(/SYMBOLS\.1: expected tickers such as SPY,AAPL, or \* alone for all \(got "SPY,\$\$\$"\)/);
  expect(err).toMatch(/ALLOW_SHORT: expected true or false \(got "maybe"\)/);
  expect(err).toMatch(/FLATTEN_SCOPE: expected vigil or account \(got "all"\)/);
  expect(err).toMatch(/EXTENDED_HOURS: extended-hours trading is not supported .*\(got "true"\)/);
  expect(err).toMatch(/APCA_API_KEY_ID: required: the Alpaca key id/);
  expect(err).toMatch(/each README has a configuration table/);
  expect(err).not.toContain('sekrit-value-123');
});
