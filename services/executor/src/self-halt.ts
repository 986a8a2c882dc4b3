import { barEnd, MINUTE_MS, type GatewayHeartbeat } from '@vigil/contracts';
import type { MarketPhase } from '@vigil/service-kit';

/**
 * A bar is fresh while it ended at most two market minutes ago on the broker's clock: a live bar arrives
 * seconds after its minute ends and stays the newest for a minute more, so this allows one late or missing
 * minute. Bar times (`lastBarTBySymbol`, what the gateway stored, by any path) are compared, not the gateway's
 * `lastBarAt`: that is its own wall clock and counts live bars only, while the simulator's clock runs elsewhere.
 */
export const FRESH_BAR_MAX_AGE_MS = 2 * MINUTE_MS;

/** Does this gateway heartbeat show a fresh bar? Without a broker clock reading it cannot tell: no. Pure. */
export function showsFreshBar(hb: Pick<GatewayHeartbeat, 'lastBarTBySymbol'>, brokerNowMs: number | null): boolean {
  if (brokerNowMs === null) return false;
  const ends = Object.values(hb.lastBarTBySymbol).map((t) => barEnd({ t }).getTime());
  return ends.length > 0 && brokerNowMs - Math.max(...ends) <= FRESH_BAR_MAX_AGE_MS;
}

export interface SelfHaltInput {
  /** The executor's clock, as every other time here. */
  nowMs: number;
  phase: MarketPhase;
  halted: boolean;
  /** SELF_HALT_AFTER_MS. */
  afterMs: number;
  /** When a watchdog health report last arrived; null if never. */
  watchdogAt: number | null;
  /** When a gateway heartbeat showing a fresh bar last arrived; null if never. */
  freshBarAt: number | null;
  /** When the silence began to count (market seen open, or a halt seen lifted); null while not counting. */
  countingSince: number | null;
}

export interface SelfHaltDecision {
  countingSince: number | null;
  /** The halt's reason when the executor must halt itself now; else null. */
  halt: string | null;
}

/**
 * Must the executor halt itself? Only in market hours, not already halted, and when neither the watchdog's health
 * nor a fresh bar was heard for `afterMs`: then nothing tells it that data is live or that anyone watches.
 * Silence counts only from the moment the market was seen open or a halt was lifted, so a quiet night does not
 * halt at the open and a person's resume gets a full `afterMs` before the next self-halt. A closed market stops the
 * count; an unknown phase (orders are refused then anyway) neither halts nor restarts it. Pure.
 */
export function decideSelfHalt(i: SelfHaltInput): SelfHaltDecision {
  if (i.phase === 'closed' || i.halted) return { countingSince: null, halt: null };
  if (i.phase === 'unknown') return { countingSince: i.countingSince, halt: null };
  const countingSince = i.countingSince ?? i.nowMs;
  const lastSign = Math.max(countingSince, i.watchdogAt ?? countingSince, i.freshBarAt ?? countingSince);
  const silentMs = i.nowMs - lastSign;
  if (silentMs < i.afterMs) return { countingSince, halt: null };
  return {
    countingSince,
    halt: `self-halt: no watchdog health and no fresh bar for ${Math.round(silentMs / 1000)} s of open market`,
  };
}
