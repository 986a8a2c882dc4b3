import type { FaultSpec } from '@vigil/alpaca-sim';
import { SIM } from './settings.js';

/**
 * When a fault stops acting, per consumer, which is where "first live bar after the fault clears" is
 * measured from:
 * - `instant`: at injection (a close, one garbage frame);
 * - `after`: when the sim lets the lasting fault expire;
 * - `retry-after`: as `after`, or later if the last 429 that consumer met told it to stay away longer
 *   (`Retry-After`, which issue 4 says to honour: no consumer that honours it can be back sooner);
 * - `lockout`: when the key's zombie session is released (drop: 406 until then);
 * - `used-up`: when the sim has served that key its last refusal (conn-limit);
 * - `replaced`: the fault lives with the connection (unsubscribe), so it clears when the consumer
 *   replaces the connection; one that never notices never clears.
 */
export type ClearRule =
  | { kind: 'instant' }
  | { kind: 'after'; ms: number }
  | { kind: 'retry-after'; ms: number; retryAfterMs: number }
  | { kind: 'lockout'; ms: number }
  | { kind: 'used-up' }
  | { kind: 'replaced' };

export interface FaultClass {
  name: string;
  /** Injected once for every consumer (no `key`), unless `perKey`. */
  spec: FaultSpec;
  /** Inject one copy per API key (each consumer gets its own count). */
  perKey?: boolean;
  /** The fault acts on new connections only: close the current ones cleanly so both consumers reconnect into it. */
  thenClose?: boolean;
  clear: ClearRule;
  /** Whether the fault ends connections by itself (otherwise the consumers should ride it out). */
  disconnects: boolean;
}

export const closeForNextConnection: FaultSpec = { kind: 'close', code: 1012, reason: 'service restart' };

/** The simulator's 13 fault classes named in the issue, with durations that fit a few-second cycle at 1 s per simulated minute. */
export const FAULT_CLASSES: FaultClass[] = [
  { name: 'drop', spec: { kind: 'drop' }, clear: { kind: 'lockout', ms: SIM.zombieGraceMs }, disconnects: true },
  {
    name: 'close',
    spec: { kind: 'close', code: 1001, reason: 'going away' },
    clear: { kind: 'instant' },
    disconnects: true,
  },
  {
    name: 'blackhole',
    spec: { kind: 'blackhole', durationMs: 3000 },
    clear: { kind: 'after', ms: 3000 },
    disconnects: true,
  },
  { name: 'stall', spec: { kind: 'stall', durationMs: 3000 }, clear: { kind: 'after', ms: 3000 }, disconnects: true },
  { name: 'unsubscribe', spec: { kind: 'unsubscribe' }, clear: { kind: 'replaced' }, disconnects: true },
  {
    name: 'refuse',
    spec: { kind: 'refuse', durationMs: 1500 },
    thenClose: true,
    clear: { kind: 'after', ms: 1500 },
    disconnects: true,
  },
  {
    name: 'handshake-429',
    spec: { kind: 'reject_upgrade', status: 429, retryAfterSec: 1, durationMs: 1500 },
    thenClose: true,
    clear: { kind: 'retry-after', ms: 1500, retryAfterMs: 1000 },
    disconnects: true,
  },
  {
    name: 'auth-silent',
    spec: { kind: 'auth_silent', durationMs: 1500 },
    thenClose: true,
    clear: { kind: 'after', ms: 1500 },
    disconnects: true,
  },
  {
    name: 'conn-limit',
    spec: { kind: 'conn_limit', count: 2 },
    perKey: true,
    thenClose: true,
    clear: { kind: 'used-up' },
    disconnects: true,
  },
  { name: 'garbage', spec: { kind: 'garbage' }, clear: { kind: 'instant' }, disconnects: false },
  {
    name: 'duplicate',
    spec: { kind: 'duplicate_bars', durationMs: 1500 },
    clear: { kind: 'after', ms: 1500 },
    disconnects: false,
  },
  {
    name: 'out-of-order',
    spec: { kind: 'out_of_order', durationMs: 1500 },
    clear: { kind: 'after', ms: 1500 },
    disconnects: false,
  },
  {
    name: 'slow',
    spec: { kind: 'slow', delayMs: 300, durationMs: 1500 },
    clear: { kind: 'after', ms: 1500 },
    disconnects: false,
  },
];

/** The whole run's schedule: `rounds` passes over every class, interleaved so no class sees only one part of the session. */
export function schedule(rounds: number): FaultClass[] {
  return Array.from({ length: rounds }, () => FAULT_CLASSES).flat();
}
