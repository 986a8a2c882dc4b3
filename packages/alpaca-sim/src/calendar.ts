/**
 * The NYSE trading calendar the simulator runs on: regular sessions 09:30–16:00 America/New_York, weekends,
 * the published holidays and 13:00 early closes for 2024–2027. Pure functions of a date.
 */

const HOLIDAYS = new Set([
  '2024-01-01',
  '2024-01-15',
  '2024-02-19',
  '2024-03-29',
  '2024-05-27',
  '2024-06-19',
  '2024-07-04',
  '2024-09-02',
  '2024-11-28',
  '2024-12-25',
  '2025-01-01',
  '2025-01-09',
  '2025-01-20',
  '2025-02-17',
  '2025-04-18',
  '2025-05-26',
  '2025-06-19',
  '2025-07-04',
  '2025-09-01',
  '2025-11-27',
  '2025-12-25',
  '2026-01-01',
  '2026-01-19',
  '2026-02-16',
  '2026-04-03',
  '2026-05-25',
  '2026-06-19',
  '2026-07-03',
  '2026-09-07',
  '2026-11-26',
  '2026-12-25',
  '2027-01-01',
  '2027-01-18',
  '2027-02-15',
  '2027-03-26',
  '2027-05-31',
  '2027-06-18',
  '2027-07-05',
  '2027-09-06',
  '2027-11-25',
  '2027-12-24',
]);

const EARLY_CLOSES = new Set([
  '2024-07-03',
  '2024-11-29',
  '2024-12-24',
  '2025-07-03',
  '2025-11-28',
  '2025-12-24',
  '2026-11-27',
  '2026-12-24',
  '2027-11-26',
]);

export const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export interface Session {
  /** Trading date, `YYYY-MM-DD` in New York. */
  date: string;
  /** Regular-session open and close (epoch ms). */
  openMs: number;
  closeMs: number;
  /** Extended-hours session bounds (04:00–20:00 ET), used for the v3 clock's pre/post phases. */
  preMs: number;
  postMs: number;
  earlyClose: boolean;
}

const nyParts = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

// Intl formatting dominated the simulator's profile (29% of a 100-symbol run, delaying its ticks). New York's
// offset changes only at a DST switch, which falls on a whole UTC hour, so one lookup per UTC hour is exact.
const offsetByUtcHour = new Map<number, number>();

/** New York's offset from UTC at instant `ms`, in minutes (−240 in summer, −300 in winter). */
export function nyOffsetMinutes(ms: number): number {
  const hour = Math.floor(ms / 3_600_000);
  let offset = offsetByUtcHour.get(hour);
  if (offset === undefined) {
    offset = formatOffsetMinutes(hour * 3_600_000);
    if (offsetByUtcHour.size >= 100_000) offsetByUtcHour.clear();
    offsetByUtcHour.set(hour, offset);
  }
  return offset;
}

function formatOffsetMinutes(ms: number): number {
  const p = Object.fromEntries(nyParts.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(
    Number(p.year),
    Number(p.month) - 1,
    Number(p.day),
    Number(p.hour),
    Number(p.minute),
    Number(p.second),
  );
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / MINUTE_MS);
}

/** The New York calendar date (`YYYY-MM-DD`) at instant `ms`. */
export function nyDate(ms: number): string {
  return new Date(ms + nyOffsetMinutes(ms) * MINUTE_MS).toISOString().slice(0, 10);
}

/** Epoch ms of wall-clock time `hh:mm` on New York date `date`. */
export function nyTime(date: string, hh: number, mm: number): number {
  const guess = Date.parse(`${date}T00:00:00Z`) + (hh * 60 + mm) * MINUTE_MS;
  // The offset at the guess is right except within an hour of a DST switch, which no session boundary touches.
  return guess - nyOffsetMinutes(guess - 5 * 3_600_000) * MINUTE_MS;
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

export function isTradingDay(date: string): boolean {
  const dow = new Date(`${date}T00:00:00Z`).getUTCDay();
  return dow !== 0 && dow !== 6 && !HOLIDAYS.has(date);
}

export function sessionOn(date: string): Session | null {
  if (!isTradingDay(date)) return null;
  const earlyClose = EARLY_CLOSES.has(date);
  return {
    date,
    openMs: nyTime(date, 9, 30),
    closeMs: nyTime(date, earlyClose ? 13 : 16, 0),
    preMs: nyTime(date, 4, 0),
    postMs: nyTime(date, earlyClose ? 17 : 20, 0),
    earlyClose,
  };
}

/** Trading sessions with dates in [from, to] (inclusive), capped so a bad range cannot spin forever. */
export function sessionsBetween(from: string, to: string, max = 2000): Session[] {
  const out: Session[] = [];
  for (let d = from; d <= to && out.length < max; d = addDays(d, 1)) {
    const s = sessionOn(d);
    if (s) out.push(s);
  }
  return out;
}

/** Is the regular session open at `ms`? */
export function isOpenAt(ms: number): boolean {
  const s = sessionOn(nyDate(ms));
  return s !== null && ms >= s.openMs && ms < s.closeMs;
}

/** The first session whose close is after `ms` (the current one while open). */
export function currentOrNextSession(ms: number): Session {
  for (let d = nyDate(ms), i = 0; i < 30; d = addDays(d, 1), i++) {
    const s = sessionOn(d);
    if (s && s.closeMs > ms) return s;
  }
  throw new RangeError(
    `no trading session within 30 days of ${new Date(ms).toISOString()}: the calendar covers 2024–2027`,
  );
}

/** The first session opening strictly after `ms`. */
export function nextOpenSession(ms: number): Session {
  const s = currentOrNextSession(ms);
  return s.openMs > ms ? s : currentOrNextSession(s.closeMs);
}

/** The trading day after `date` (T+1 settlement). */
export function nextTradingDate(date: string): string {
  let d = addDays(date, 1);
  while (!isTradingDay(d)) d = addDays(d, 1);
  return d;
}

/** RFC-3339 with New York's offset, as Alpaca's clock prints it (`2022-04-28T14:07:04.451-04:00`). */
export function toNyIso(ms: number, fraction = false): string {
  const off = nyOffsetMinutes(ms);
  const local = new Date(ms + off * MINUTE_MS).toISOString();
  const body = fraction ? local.slice(0, 23) : local.slice(0, 19);
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return `${body}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
