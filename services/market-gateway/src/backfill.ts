import { MINUTE_MS } from '@vigil/contracts';

export interface BackfillWindow {
  /** First bar start to fetch (inclusive). */
  start: number;
  /** Our estimate of now, for logs. The request itself sets no end: REST serves every completed minute,
   * and an end from a lagging clock estimate would miss the minute that just closed. */
  end: number;
}

/**
 * The one multi-symbol window that covers every symbol's gap: from the minute after the oldest
 * symbol's last published bar (or `maxLookbackMs` back, for a symbol never published) to now.
 * Null when there is no completed minute to fetch.
 */
export function planBackfill(
  symbols: readonly string[],
  lastPublished: ReadonlyMap<string, number>,
  nowMs: number,
  maxLookbackMs: number,
): BackfillWindow | null {
  const floor = Math.floor((nowMs - maxLookbackMs) / MINUTE_MS) * MINUTE_MS;
  const starts = symbols.map((s) => {
    const last = lastPublished.get(s);
    return last === undefined ? floor : Math.max(floor, last + MINUTE_MS);
  });
  if (starts.length === 0) return null;
  const start = Math.min(...starts);
  // Lenient by one minute: our estimate of the broker's time may lag the server's.
  const lastPossiblyComplete = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
  return start <= lastPossiblyComplete ? { start, end: nowMs } : null;
}

/** The bars a symbol still needs, oldest first: strictly after its last published bar. */
export function newBarsFor<T extends { t: string }>(bars: readonly T[], lastPublishedMs: number | undefined): T[] {
  return bars
    .filter((b) => lastPublishedMs === undefined || Date.parse(b.t) > lastPublishedMs)
    .sort((a, b) => Date.parse(a.t) - Date.parse(b.t));
}

/**
 * A live bar that skips minutes after the symbol's last published bar opens a gap: a bar lost or late on
 * the stream (or just a quiet minute on IEX). Worth a backfill unless REST already settled those minutes.
 */
export function opensGap(t: number, lastPublishedMs: number | undefined, coveredThroughMs: number): boolean {
  if (lastPublishedMs === undefined || t <= lastPublishedMs + MINUTE_MS) return false;
  return t - MINUTE_MS > coveredThroughMs;
}

/**
 * The newest minute a REST answer settles for every symbol, quiet ones included: the minute before the
 * request's clock estimate, but no later than the newest bar the answer actually holds. The estimate alone can
 * run ahead of the server (it is projected from a clock read, and the simulator's clock runs fast), and a
 * minute wrongly settled is one whose missing bar no later gap would refetch.
 */
export function settledThrough(bars: Iterable<readonly { t: string }[]>, requestedAtMs: number): number {
  let newest = Number.NEGATIVE_INFINITY;
  for (const list of bars) for (const b of list) newest = Math.max(newest, Date.parse(b.t));
  return Math.min(newest, Math.floor(requestedAtMs / MINUTE_MS) * MINUTE_MS - MINUTE_MS);
}
