import { barEnd, type Bar, type BarSource } from '@vigil/contracts';

export type Freshness = { fresh: true; ageMs: number } | { fresh: false; ageMs: number | null; reason: string };

/**
 * May this bar produce a signal? Only if it ended at most `maxAgeMs` before the broker's time, whichever way
 * it came: a bar polled while the stream is down is as fresh as a live one, and refusing it leaves positions
 * unmanaged for as long as the outage lasts. `brokerNowMs` comes from the broker's clock (which runs fast
 * against an accelerated simulator), never the local wall clock, so a backfilled or replayed hour never fires
 * a burst of stale orders. A bar ending far in the broker's future is refused too: it means the clock reading
 * is wrong, not that the bar is fresh. `sources` narrows what may trade (SIGNAL_SOURCES).
 */
export function freshness(
  bar: Pick<Bar, 't' | 'source'>,
  brokerNowMs: number | null,
  maxAgeMs: number,
  sources: readonly BarSource[],
): Freshness {
  if (brokerNowMs === null) return { fresh: false, ageMs: null, reason: 'broker clock not read yet' };
  const ageMs = brokerNowMs - barEnd(bar).getTime();
  if (!sources.includes(bar.source))
    return {
      fresh: false,
      ageMs,
      reason: `bar came from ${bar.source}, which SIGNAL_SOURCES (${sources.join(',')}) leaves out`,
    };
  if (ageMs > maxAgeMs)
    return { fresh: false, ageMs, reason: `bar ended ${ageMs} ms ago (broker time), over ${maxAgeMs} ms` };
  if (ageMs < -maxAgeMs)
    return { fresh: false, ageMs, reason: `bar ends ${-ageMs} ms after broker time; clock reading is off` };
  return { fresh: true, ageMs };
}
