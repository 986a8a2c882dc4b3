// The faults of the replayed session, on New York wall time. The simulator starts at 09:00, half an hour
// before the open, so every service is up before the first bar; a chaos entry's minute counts from there.
import type { ChaosEntry } from '@vigil/alpaca-sim';

export const SESSION_START = '2026-01-06T09:00:00-05:00';
export const SESSION_CLOSE = '2026-01-06T16:00:00-05:00';

/** The socket-only freeze (REST up): New York time it starts, and how long it lasts. */
export const SOCKET_FREEZE = { from: '14:20', minutes: 35 } as const;

/** Minutes from the simulator's start to `hh:mm` New York time (same day). */
export function at(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m - 9 * 60;
}

/** An instant on the session's day, New York time (EST, -05:00, in January). */
export function nyInstant(hhmm: string): number {
  return Date.parse(`2026-01-06T${hhmm}:00-05:00`);
}

/** A lasting fault that only bites on the next connection, followed by the drop that forces one. */
const onReconnect = (time: string, fault: ChaosEntry['fault'], durationMinutes: number): ChaosEntry[] => [
  { atMinute: at(time), fault, durationMinutes },
  { atMinute: at(time), fault: 'drop' },
];

/** Faults the simulator injects on its own schedule. */
export function sessionChaos(keyId: string): ChaosEntry[] {
  return [
    { atMinute: at('09:45'), fault: 'drop' },
    { atMinute: at('09:55'), fault: 'stall', durationMinutes: 3 },
    { atMinute: at('10:05'), fault: { kind: 'malformed_frames', everyN: 3 }, durationMinutes: 4 },
    { atMinute: at('10:12'), fault: { kind: 'close', code: 1011, reason: 'internal error' } },
    { atMinute: at('10:18'), fault: 'duplicate_bars', durationMinutes: 4 },
    { atMinute: at('10:23'), fault: 'out_of_order', durationMinutes: 3 },
    // The incident: at 10:29 the feed freezes for 33 minutes. For the first 6 the REST data API fails too,
    // so nothing can carry bars and the watchdog must see stale data, page, command and halt.
    { atMinute: at('10:29'), fault: 'blackhole', durationMinutes: 33 },
    { atMinute: at('10:29'), fault: { kind: 'rest_error', status: 503, scope: 'data' }, durationMinutes: 6 },
    { atMinute: at('11:10'), fault: 'unsubscribe' },
    { atMinute: at('11:20'), fault: { kind: 'slow', delayMs: 150 }, durationMinutes: 4 },
    { atMinute: at('11:30'), fault: { kind: 'late_bars', delayMs: 400 }, durationMinutes: 4 },
    { atMinute: at('11:40'), fault: 'updated_bars', durationMinutes: 5 },
    ...onReconnect('11:50', 'refuse', 2),
    ...onReconnect('12:00', { kind: 'reject_upgrade', status: 429, retryAfterSec: 1 }, 2),
    ...onReconnect('12:10', 'handshake_hang', 2),
    ...onReconnect('12:20', 'auth_silent', 2),
    { atMinute: at('12:30'), fault: { kind: 'conn_limit', count: 3 } },
    { atMinute: at('12:30'), fault: 'drop' },
    ...onReconnect('12:40', 'no_subscription_ack', 2),
    ...onReconnect('12:50', 'partial_subscription_ack', 2),
    // 13:00 the gateway process is killed (the test does it).
    { atMinute: at('13:20'), fault: 'garbage' },
    { atMinute: at('13:30'), fault: { kind: 'kill_session', key: keyId } },
    ...onReconnect('13:45', { kind: 'rest_slow', delayMs: 300, scope: 'data' }, 4),
    // 14:00 NATS restarts (the test does it).
    // Issue 11: the socket freezes for 35 minutes while REST answers throughout. Polling carries the bars; the
    // strategy must keep trading on them and the watchdog must page the degraded feed.
    { atMinute: at(SOCKET_FREEZE.from), fault: 'blackhole', durationMinutes: SOCKET_FREEZE.minutes },
    {
      atMinute: at('15:00'),
      fault: { kind: 'rest_error', status: 429, scope: 'trading', retryAfterSec: 1 },
      durationMinutes: 3,
    },
    { atMinute: at('15:30'), fault: 'drop' },
  ];
}

/** Faults outside the simulator, which the test carries out when the market clock reaches them. */
export const SYSTEM_FAULTS = [
  { time: '13:00', kind: 'gateway_kill' },
  { time: '14:00', kind: 'nats_restart' },
] as const;
