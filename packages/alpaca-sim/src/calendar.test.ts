import { describe, expect, it } from 'vitest';
import {
  currentOrNextSession,
  isOpenAt,
  nextOpenSession,
  nextTradingDate,
  nyDate,
  nyOffsetMinutes,
  sessionOn,
  sessionsBetween,
  toNyIso,
} from './calendar.js';

describe('calendar', () => {
  it('opens 09:30–16:00 New York time in winter and summer', () => {
    expect(new Date(sessionOn('2026-01-06')!.openMs).toISOString()).toBe('2026-01-06T14:30:00.000Z');
    expect(new Date(sessionOn('2026-07-07')!.openMs).toISOString()).toBe('2026-07-07T13:30:00.000Z');
    expect(new Date(sessionOn('2026-07-07')!.closeMs).toISOString()).toBe('2026-07-07T20:00:00.000Z');
  });

  it('has no session on weekends and holidays, and closes at 13:00 on half days', () => {
    expect(sessionOn('2026-01-10')).toBeNull();
    expect(sessionOn('2026-11-26')).toBeNull();
    const half = sessionOn('2026-11-27')!;
    expect(half.earlyClose).toBe(true);
    expect(new Date(half.closeMs).toISOString()).toBe('2026-11-27T18:00:00.000Z');
  });

  it('finds the next open across a weekend and a holiday', () => {
    const friAfterClose = Date.parse('2026-01-16T22:00:00Z');
    // Monday 2026-01-19 is Martin Luther King Jr. Day.
    expect(nextOpenSession(friAfterClose).date).toBe('2026-01-20');
    expect(isOpenAt(friAfterClose)).toBe(false);
    expect(isOpenAt(Date.parse('2026-01-16T15:00:00Z'))).toBe(true);
    expect(currentOrNextSession(Date.parse('2026-01-16T15:00:00Z')).date).toBe('2026-01-16');
  });

  it('lists sessions and settles T+1', () => {
    expect(sessionsBetween('2026-01-01', '2026-01-06').map((s) => s.date)).toEqual([
      '2026-01-02',
      '2026-01-05',
      '2026-01-06',
    ]);
    expect(nextTradingDate('2026-01-16')).toBe('2026-01-20');
  });

  it('prints New York offsets', () => {
    expect(toNyIso(Date.parse('2026-01-06T14:30:00Z'))).toBe('2026-01-06T09:30:00-05:00');
    expect(nyDate(Date.parse('2026-01-07T03:00:00Z'))).toBe('2026-01-06');
  });

  it('switches offset at the DST changes to the millisecond, asked in any order', () => {
    // 2026: EDT from 2026-03-08 07:00 UTC, EST again from 2026-11-01 06:00 UTC.
    const springs = Date.parse('2026-03-08T07:00:00Z');
    const falls = Date.parse('2026-11-01T06:00:00Z');
    for (const [ms, offset] of [
      [springs, -240],
      [springs - 1, -300],
      [falls - 1, -240],
      [falls, -300],
      [springs + 1_800_000, -240],
      [falls - 1_800_000, -240],
    ] as const)
      expect(nyOffsetMinutes(ms), new Date(ms).toISOString()).toBe(offset);
  });
});
