import { describe, expect, it } from 'vitest';
import { decode, decodeAs, decodeOn, decodeStored, encode, encodeChecked } from './codec.js';
import { ContractError, DecodeError } from './errors.js';
import { Bar } from './messages/bar.js';
import { GatewayHeartbeat } from './messages/heartbeat.js';
import type { GatewayHeartbeat as Heartbeat } from './messages/heartbeat.js';
import { bar1mSubject } from './subjects.js';
import { validBar } from '../test/fixtures.js';

const bytes = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

describe('encode/decode', () => {
  it('round-trips a bar through bytes by its subject', () => {
    const result = decode(bar1mSubject('SPY'), encode(Bar, validBar));
    expect(result).toEqual({ ok: true, value: validBar });
    // The unchecked encoding of a checked value is the same bytes.
    expect(encodeChecked(validBar)).toEqual(encode(Bar, validBar));
  });

  it('returns a DecodeError that names the subject and the offending field, without throwing', () => {
    const result = decode('md.bars.1m.SPY', bytes({ ...validBar, high: 'up' }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(DecodeError);
    expect(result.error.message).toContain('md.bars.1m.SPY');
    expect(result.error.message).toContain('Bar');
    expect(result.error.issues).toMatch(/high/);
  });

  it('rejects text that is not JSON with a readable reason', () => {
    const result = decode('md.heartbeat', bytes('{"v":1,'));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toMatch(/not JSON/);
  });

  it('rejects a bar whose prices are inconsistent or whose start is not a whole minute', () => {
    const inverted = decodeAs(Bar, 'x', bytes({ ...validBar, low: 601 }));
    expect(inverted.ok).toBe(false);
    if (!inverted.ok) expect(inverted.error.issues).toMatch(/low must be <= open/);
    const offMinute = decodeAs(Bar, 'x', bytes({ ...validBar, t: '2026-11-27T15:31:07Z' }));
    expect(offMinute.ok).toBe(false);
    if (!offMinute.ok) expect(offMinute.error.issues).toMatch(/whole minute/);
  });

  it('rejects a message from another schema version and unknown fields', () => {
    expect(decodeAs(Bar, 'x', bytes({ ...validBar, v: 2 })).ok).toBe(false);
    expect(decodeAs(Bar, 'x', bytes({ ...validBar, extra: 1 })).ok).toBe(false);
  });

  it("rejects a bar published on another symbol's subject", () => {
    const result = decode('md.bars.1m.AAPL', encode(Bar, validBar));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.issues).toMatch(/does not match subject/);
  });

  it('rejects a subject that carries no Vigil message', () => {
    const result = decode('md.unknown', bytes({}));
    expect(result.ok).toBe(false);
  });

  it('refuses to encode an invalid message so bad data never leaves its producer', () => {
    expect(() => encode(Bar, { ...validBar, volume: -1 })).toThrow(ContractError);
  });

  it('accepts a heartbeat with nullable fields unset', () => {
    const hb: Heartbeat = {
      v: 1,
      service: 'market-gateway',
      instanceId: 'market-gateway-1',
      seq: 0,
      sentAt: '2026-11-27T15:32:00.000Z',
      state: 'starting',
      reason: 'process started',
      marketOpen: null,
      symbols: ['SPY'],
      connectedSince: null,
      lastMessageAt: null,
      lastBarAt: null,
      lastBarTBySymbol: {},
      barsLastMinute: 0,
      reconnects: 0,
      uptimePct: null,
      dataPath: 'none',
      dataPathSince: '2026-11-27T15:32:00.000Z',
      liveDownSince: '2026-11-27T15:32:00.000Z',
      polling: false,
      bufferedBars: 0,
      bufferFill: 0,
      audit: { lastAuditAt: null, missing: 0, revised: 0 },
    };
    expect(decode('md.heartbeat', encode(GatewayHeartbeat, hb))).toEqual({ ok: true, value: hb });
    expect(decode('md.heartbeat', bytes({ ...hb, state: 'sleeping' })).ok).toBe(false);
  });
});

describe('decodeOn: a known type, checked against its subject as decode checks it', () => {
  it('decodes a bar on its own subject, typed', () => {
    const result = decodeOn(Bar, bar1mSubject('SPY'), encode(Bar, validBar));
    expect(result).toEqual({ ok: true, value: validBar });
    // Typed without a cast: this line only compiles if value is a Bar.
    if (result.ok) expect(result.value.symbol satisfies string).toBe('SPY');
  });

  it("rejects a bar on another symbol's subject, like decode", () => {
    const result = decodeOn(Bar, 'md.bars.1m.AAPL', encode(Bar, validBar));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.issues).toMatch(/symbol SPY does not match subject token AAPL/);
  });

  it('rejects a subject that carries another type, or no Vigil message', () => {
    const onHeartbeat = decodeOn(Bar, 'md.heartbeat', encode(Bar, validBar));
    expect(onHeartbeat.ok).toBe(false);
    if (!onHeartbeat.ok) expect(onHeartbeat.error.issues).toMatch(/carries GatewayHeartbeat, not Bar/);
    const unknown = decodeOn(Bar, 'md.unknown', encode(Bar, validBar));
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.error).toBeInstanceOf(DecodeError);
  });

  it('decodeStored returns the value, or throws the DecodeError', () => {
    expect(decodeStored(Bar, { subject: bar1mSubject('SPY'), data: encode(Bar, validBar) })).toEqual(validBar);
    expect(() => decodeStored(Bar, { subject: 'md.bars.1m.AAPL', data: encode(Bar, validBar) })).toThrow(DecodeError);
  });

  it('rejects what the schema rejects, naming the field', () => {
    const result = decodeOn(Bar, 'md.bars.1m.SPY', bytes({ ...validBar, high: 'up' }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.issues).toMatch(/high/);
  });
});
