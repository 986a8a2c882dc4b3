import {
  addDays,
  currentOrNextSession,
  isOpenAt,
  nextOpenSession,
  nextTradingDate,
  nyDate,
  sessionOn,
  sessionsBetween,
  toNyIso,
  type Session,
} from './calendar.js';

/** `GET /v2/clock`: New York offsets, as Alpaca prints them. */
export function legacyClock(now: number): Record<string, unknown> {
  const open = isOpenAt(now);
  const session = currentOrNextSession(now);
  return {
    timestamp: toNyIso(now, true),
    is_open: open,
    next_open: toNyIso(nextOpenSession(now).openMs),
    next_close: toNyIso(session.closeMs),
  };
}

type Phase = 'closed' | 'pre' | 'core' | 'post';

/** The v3 phase and when it ends: pre 04:00, core 09:30, post from the close to 20:00 (17:00 on half days). */
export function phaseAt(now: number): { phase: Phase; until: number; marketDay: boolean } {
  const today = sessionOn(nyDate(now));
  if (today) {
    if (now >= today.preMs && now < today.openMs) return { phase: 'pre', until: today.openMs, marketDay: true };
    if (now >= today.openMs && now < today.closeMs) return { phase: 'core', until: today.closeMs, marketDay: true };
    if (now >= today.closeMs && now < today.postMs) return { phase: 'post', until: today.postMs, marketDay: true };
  }
  const next = now < (today?.preMs ?? -Infinity) ? today! : sessionAfter(now);
  return { phase: 'closed', until: next.preMs, marketDay: today !== null };
}

function sessionAfter(now: number): Session {
  for (let d = addDays(nyDate(now), 1); ; d = addDays(d, 1)) {
    const s = sessionOn(d);
    if (s) return s;
  }
}

/** `GET /v3/clock`: one NYSE entry (the SDK's `clock()` parses this shape). */
export function clockV3(now: number): Record<string, unknown> {
  const { phase, until, marketDay } = phaseAt(now);
  return {
    clocks: [
      {
        market: { acronym: 'NYSE', mic: 'XNYS', name: 'New York Stock Exchange', timezone: 'America/New_York' },
        is_market_day: marketDay,
        phase,
        phase_until: toNyIso(until),
        next_market_open: toNyIso(nextOpenSession(now).openMs),
        next_market_close: toNyIso(currentOrNextSession(now).closeMs),
        timestamp: toNyIso(now, true),
      },
    ],
  };
}

/** `GET /v2/calendar` entries for trading days in [start, end]. */
export function calendarDays(start: string, end: string): Record<string, string>[] {
  return sessionsBetween(start, end).map((s) => ({
    date: s.date,
    open: '09:30',
    close: s.earlyClose ? '13:00' : '16:00',
    session_open: '0400',
    session_close: s.earlyClose ? '1700' : '2000',
    settlement_date: nextTradingDate(s.date),
  }));
}
