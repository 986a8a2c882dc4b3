import { describe, expect, it } from 'vitest';
import { calendarDays, clockV3, legacyClock, phaseAt } from './trading-clock.js';

describe('trading clock', () => {
  it('reports open, next close and next open in New York time', () => {
    const c = legacyClock(Date.parse('2026-01-06T15:00:00.250Z'));
    expect(c).toEqual({
      timestamp: '2026-01-06T10:00:00.250-05:00',
      is_open: true,
      next_open: '2026-01-07T09:30:00-05:00',
      next_close: '2026-01-06T16:00:00-05:00',
    });
    expect(legacyClock(Date.parse('2026-01-10T15:00:00Z')).is_open).toBe(false);
  });

  it('walks the v3 phases, closing early on a half day', () => {
    expect(phaseAt(Date.parse('2026-01-06T10:00:00Z')).phase).toBe('pre');
    expect(phaseAt(Date.parse('2026-11-27T18:30:00Z'))).toMatchObject({
      phase: 'post',
      until: Date.parse('2026-11-27T22:00:00Z'),
    });
    expect(phaseAt(Date.parse('2026-01-10T12:00:00Z'))).toMatchObject({
      phase: 'closed',
      marketDay: false,
      until: Date.parse('2026-01-12T09:00:00Z'),
    });
    expect((clockV3(Date.parse('2026-01-06T15:00:00Z')).clocks as { phase: string }[])[0]!.phase).toBe('core');
  });

  it('lists calendar days with early closes and T+1 settlement', () => {
    expect(calendarDays('2026-11-25', '2026-11-30')).toEqual([
      {
        date: '2026-11-25',
        open: '09:30',
        close: '16:00',
        session_open: '0400',
        session_close: '2000',
        settlement_date: '2026-11-27',
      },
      {
        date: '2026-11-27',
        open: '09:30',
        close: '13:00',
        session_open: '0400',
        session_close: '1700',
        settlement_date: '2026-11-30',
      },
      {
        date: '2026-11-30',
        open: '09:30',
        close: '16:00',
        session_open: '0400',
        session_close: '2000',
        settlement_date: '2026-12-01',
      },
    ]);
  });
});
