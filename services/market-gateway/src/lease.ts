/**
 * The gateway lease's decisions (pure; `lease-keeper.ts` does the KV I/O). One replica holds the lease in KV
 * and streams; the others stand by. The KV bucket's TTL ages the entry out `ttlMs` after the holder's last
 * write, so a holder that dies, freezes or loses NATS loses the lease without doing anything.
 *
 * The holder fences itself on its own monotonic clock, measured from when it SENT its last successful write:
 * the server stored that write no earlier, so the entry lives at least until `sentAt + ttlMs`, and the holder
 * stops acting `marginMs` before that. No standby can take the lease while the holder may still act.
 */

/** How long before the lease could lapse the holder stops acting: a fifth of the TTL, at least 250 ms. */
export function fenceMarginMs(ttlMs: number): number {
  return Math.max(250, Math.floor(ttlMs / 5));
}

/** Renewals and standby reads: three per TTL, so one lost renewal never costs the lease. */
export function leaseTickMs(ttlMs: number): number {
  return Math.max(50, Math.floor(ttlMs / 3));
}

/**
 * Whether the holder may still act (stream, publish) at `now`: its last successful write was sent less than
 * `ttlMs - margin` ago. A process frozen (SIGSTOP) or cut off from NATS past that finds itself fenced when it
 * wakes, before anything it does reaches the bus.
 */
export function holdsLease(lastWriteSentAt: number | null, now: number, ttlMs: number): boolean {
  return lastWriteSentAt !== null && now - lastWriteSentAt < ttlMs - fenceMarginMs(ttlMs);
}

/** The lease as a standby reads it. */
export type LeaseRead = { held: false } | { held: true; replicaId: string; revision: number };

/**
 * What a standby does with what it read: take a free lease (create, which fails if another got there first);
 * reclaim one its own replica holds (a restart of this replica: the process that wrote it is gone), by a
 * compare-and-set on that revision; or wait for the holder's entry to age out.
 */
export type StandbyMove = { move: 'take' } | { move: 'reclaim'; revision: number } | { move: 'wait'; holder: string };

export function standbyMove(read: LeaseRead, replicaId: string): StandbyMove {
  if (!read.held) return { move: 'take' };
  if (read.replicaId === replicaId) return { move: 'reclaim', revision: read.revision };
  return { move: 'wait', holder: read.replicaId };
}
