import * as z from 'zod';
import { describe, expect, it } from 'vitest';
import {
  baseConfig,
  envBool,
  envInt,
  envSymbols,
  isSecretName,
  loadConfig,
  parseConfig,
  symbolMatcher,
} from './config.js';
import { ConfigError } from './errors.js';

const schema = z.object({
  ...baseConfig,
  SYMBOLS: envSymbols(['SPY']),
  PING_INTERVAL_MS: envInt(10_000, { min: 100 }),
  PAPER: envBool(true),
  ALPACA_SECRET_KEY: z.string().min(8),
});

describe('config', () => {
  it('applies defaults and parses typed values', () => {
    const c = parseConfig(schema, { ALPACA_SECRET_KEY: 'abcdefgh', SYMBOLS: 'spy, aapl ,BRK.B', PAPER: 'false' });
    expect(c.SYMBOLS).toEqual(['SPY', 'AAPL', 'BRK.B']);
    expect(c.PING_INTERVAL_MS).toBe(10_000);
    expect(c.PAPER).toBe(false);
    expect(c.NATS_URL).toBe('nats://127.0.0.1:4222');
  });

  it('treats an empty variable as unset', () => {
    expect(parseConfig(schema, { ALPACA_SECRET_KEY: 'abcdefgh', PING_INTERVAL_MS: '' }).PING_INTERVAL_MS).toBe(10_000);
  });

  it('names every offending variable with what it expected, and hides secret values', () => {
    let error: ConfigError | undefined;
    try {
      parseConfig(schema, {
        PING_INTERVAL_MS: '12abc',
        PAPER: 'maybe',
        ALPACA_SECRET_KEY: 'short',
        SYMBOLS: 'spy,a b',
      });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = error!.problems.join('\n');
    expect(text).toMatch(/PING_INTERVAL_MS: expected a whole number \(got "12abc"\)/);
    expect(text).toMatch(/PAPER: expected true or false/);
    expect(text).toMatch(/SYMBOLS/);
    expect(text).toMatch(/ALPACA_SECRET_KEY: .*\(got \[hidden\]\)/);
    expect(text).not.toContain('short');
  });

  it('reads JS_REPLICAS, 1 unless set, and refuses a count nats-server would not take', () => {
    expect(parseConfig(schema, { ALPACA_SECRET_KEY: 'abcdefgh' }).JS_REPLICAS).toBe(1);
    expect(parseConfig(schema, { ALPACA_SECRET_KEY: 'abcdefgh', JS_REPLICAS: '3' }).JS_REPLICAS).toBe(3);
    for (const bad of ['0', '6', 'three'])
      expect(() => parseConfig(schema, { ALPACA_SECRET_KEY: 'abcdefgh', JS_REPLICAS: bad })).toThrow(/JS_REPLICAS/);
  });

  it('reports a missing required variable as missing', () => {
    expect(() => parseConfig(schema, {})).toThrow(/ALPACA_SECRET_KEY: .*\(missing\)/);
  });

  it('prints the problems and exits with code 2 on bad config', () => {
    let printed = '';
    let code: number | undefined;
    const exit = (c: number): never => {
      code = c;
      throw new Error('exited');
    };
    expect(() =>
      loadConfig('market-gateway', schema, { HTTP_PORT: '70000' }, { stderr: (s) => (printed += s), exit }),
    ).toThrow('exited');
    expect(code).toBe(2);
    expect(printed).toContain('market-gateway: invalid configuration');
    expect(printed).toContain('HTTP_PORT');
    expect(printed).toContain('ALPACA_SECRET_KEY');
  });
});

describe('envSymbols', () => {
  const all = z.object({ SYMBOLS: envSymbols(['SPY'], { allowAll: true }) });
  const listOnly = z.object({ SYMBOLS: envSymbols(['SPY']) });

  it('reads * as every symbol where a service allows it', () => {
    expect(parseConfig(all, { SYMBOLS: ' * ' }).SYMBOLS).toEqual(['*']);
    expect(parseConfig(all, { SYMBOLS: 'spy,aapl' }).SYMBOLS).toEqual(['SPY', 'AAPL']);
    expect(() => parseConfig(listOnly, { SYMBOLS: '*' })).toThrow(/SYMBOLS.*expected tickers/);
  });

  it('refuses * mixed with tickers, which would silently mean all of them', () => {
    expect(() => parseConfig(all, { SYMBOLS: 'SPY,*' })).toThrow(/SYMBOLS/);
  });
});

describe('symbolMatcher', () => {
  it('passes every symbol for the wildcard and only listed ones for a list', () => {
    expect(symbolMatcher(['*'])('ZZZZ')).toBe(true);
    const listed = symbolMatcher(['SPY', 'AAPL']);
    expect([listed('SPY'), listed('AAPL'), listed('MSFT')]).toEqual([true, true, false]);
  });
});

describe('isSecretName', () => {
  it("treats credentials and a dead man's switch URL as secrets, plain settings not", () => {
    for (const name of ['APCA_API_SECRET_KEY', 'NATS_PASS', 'ALERT_WEBHOOK_URL', 'DEADMAN_URL', 'DEADMAN_FAIL_URL'])
      expect(isSecretName(name), name).toBe(true);
    for (const name of ['NATS_URL', 'DEADMAN_INTERVAL_MS', 'HEALTH_INTERVAL_MS'])
      expect(isSecretName(name), name).toBe(false);
  });
});
