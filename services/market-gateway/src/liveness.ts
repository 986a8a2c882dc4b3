import type { MarketPhase } from '@vigil/service-kit';
import type { StreamSubscription } from './alpaca-messages.js';

/**
 * Data layer of liveness: stale when the market is open and nothing has arrived for `staleAfterMs`
 * since the later of the last message and the subscription. A closed (or unknown) market never alarms
 * here; the independent watchdog covers an unreadable clock.
 */
export function isDataStale(input: {
  now: number;
  phase: MarketPhase;
  streamingSince: number;
  lastDataAt: number | null;
  staleAfterMs: number;
}): { stale: boolean; silentMs: number } {
  const since = Math.max(input.streamingSince, input.lastDataAt ?? 0);
  const silentMs = input.now - since;
  return { stale: input.phase === 'open' && silentMs > input.staleAfterMs, silentMs };
}

/** A connection counts as good (backoff resets) only after it has delivered data for `stableAfterMs`, not on a bare auth. */
export function isStable(input: {
  now: number;
  streamingSince: number;
  lastDataAt: number | null;
  stableAfterMs: number;
}): boolean {
  return (
    input.lastDataAt !== null &&
    input.lastDataAt > input.streamingSince &&
    input.now - input.streamingSince >= input.stableAfterMs
  );
}

/** Which required subscriptions an ack lacks (`bars:SPY`, `trades:SPY`); a `*` wildcard covers all. */
export function missingFromSubscription(ack: StreamSubscription, symbols: string[], canary: string): string[] {
  // Sets: a full-market subscription lists thousands of symbols.
  const bars = new Set(ack.bars ?? []);
  const trades = new Set(ack.trades ?? []);
  const has = (list: Set<string>, s: string) => list.has(s) || list.has('*');
  const missing = symbols.filter((s) => !has(bars, s)).map((s) => `bars:${s}`);
  if (!has(trades, canary)) missing.push(`trades:${canary}`);
  return missing;
}
