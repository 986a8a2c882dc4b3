import { barEnd, type Bar } from '@vigil/contracts';

export type Freshness = { fresh: true; ageMs: number } | { fresh: false; ageMs: number | null; reason: string };

/**
 * May this bar produce a signal? Only a live bar whose end is at most `maxAgeMs` behind the broker's time.
 * `brokerNowMs` comes from the broker's clock (which runs fast against an accelerated simulator), never the
 * local wall clock, so a backfilled or replayed hour never fires a burst of stale orders. A bar ending far
 * in the broker's future is refused too: it means the clock reading is wrong, not that the bar is fresh.
 */
export function freshness(bar: Pick<Bar, 't' | 'source'>, brokerNowMs: number | null, maxAgeMs: number): Freshness {
  if (brokerNowMs === null) return { fresh: false, ageMs: null, reason: 'broker clock not read yet' };
  const ageMs = brokerNowMs - barEnd(bar).getTime();
  if (bar.source !== 'live') return { fresh: false, ageMs, reason: `bar came from ${bar.source}, not the live stream` };
  if (ageMs > maxAgeMs) return { fresh: false, ageMs, reason: `bar ended ${ageMs} ms ago (broker time), over ${maxAgeMs} ms` };
  if (ageMs < -maxAgeMs) return { fresh: false, ageMs, reason: `bar ends ${-ageMs} ms after broker time; clock reading is off` };
  return { fresh: true, ageMs };
}
