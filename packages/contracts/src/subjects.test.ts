import { describe, expect, it } from 'vitest';
import { signalId } from './messages/signal.js';
import {
  alertSubject,
  bar1mSubject,
  barMsgId,
  isoMemo,
  orderEventSubject,
  signalSubject,
  subjects,
  symbolFromToken,
} from './subjects.js';

describe('subjects', () => {
  it('builds the subjects later tools depend on', () => {
    expect(bar1mSubject('SPY')).toBe('md.bars.1m.SPY');
    expect(signalSubject('AAPL')).toBe('strategy.signals.AAPL');
    expect(orderEventSubject('filled')).toBe('executor.orders.filled');
    expect(alertSubject('no_bar')).toBe('alerts.no_bar');
    expect(subjects.heartbeat).toBe('md.heartbeat');
  });

  it('keeps a dotted ticker in one subject token and back', () => {
    expect(bar1mSubject('BRK.B')).toBe('md.bars.1m.BRK_B');
    expect(symbolFromToken('BRK_B')).toBe('BRK.B');
  });

  it('refuses symbols that would break a subject', () => {
    expect(() => bar1mSubject('spy')).toThrow(/not a ticker/);
    expect(() => bar1mSubject('SP Y')).toThrow(/not a ticker/);
    expect(() => bar1mSubject('>')).toThrow(/not a ticker/);
  });

  it('derives the bar dedup id from symbol, start and revision', () => {
    expect(barMsgId('SPY', '2026-11-27T15:31:00Z')).toBe('SPY:2026-11-27T15:31:00.000Z');
    expect(barMsgId('SPY', '2026-11-27T15:31:00.000Z', 0)).toBe('SPY:2026-11-27T15:31:00.000Z');
    expect(barMsgId('SPY', '2026-11-27T15:31:00Z', 2)).toBe('SPY:2026-11-27T15:31:00.000Z:r2');
    expect(barMsgId('AAPL', '2026-11-27T15:32:00+00:00')).toBe('AAPL:2026-11-27T15:32:00.000Z');
  });

  it('remembers only the last instant it wrote, so a new input is never answered with an old one', () => {
    const iso = isoMemo();
    expect(iso('2026-11-27T15:31:00Z')).toBe('2026-11-27T15:31:00.000Z');
    expect(iso('2026-11-27T15:31:00Z')).toBe('2026-11-27T15:31:00.000Z');
    expect(iso(Date.parse('2026-11-27T15:32:00Z'))).toBe('2026-11-27T15:32:00.000Z');
    expect(iso('2026-11-27T10:33:00-05:00')).toBe('2026-11-27T15:33:00.000Z');
    expect(() => iso('not a time')).toThrow(RangeError);
    expect(iso('2026-11-27T10:33:00-05:00')).toBe('2026-11-27T15:33:00.000Z');
  });

  it('derives a deterministic signal id', () => {
    expect(signalId('ma_cross', 'SPY', '2026-11-27T15:31:00Z')).toBe('ma_cross:SPY:20261127T1531Z');
  });
});
