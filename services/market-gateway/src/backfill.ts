import { MINUTE_MS } from '@vigil/contracts';

export interface BackfillWindow {
  /** First bar start to fetch (inclusive), the oldest of the requests'. */
  start: number;
  /** Our estimate of now, for logs. The request itself sets no end: REST serves every completed minute,
   * and an end from a lagging clock estimate would miss the minute that just closed. */
  end: number;
}

/** One multi-symbol REST request of a backfill: its symbols, from the oldest one's gap. */
export interface BackfillRequest {
  symbols: string[];
  start: number;
}

export interface BackfillPlan extends BackfillWindow {
  requests: BackfillRequest[];
}

/**
 * The requests that cover every symbol's gap: each symbol's gap starts the minute after its last published bar
 * (or `maxLookbackMs` back, for a symbol never published) and runs to now. Symbols are grouped by where their gap
 * starts, at most `maxSymbolsPerRequest` a request, so one quiet symbol's long gap does not drag thousands of others
 * back with it under SYMBOLS=*. Null when no symbol has a completed minute to fetch.
 */
export function planBackfill(
  symbols: readonly string[],
  lastPublished: ReadonlyMap<string, number>,
  nowMs: number,
  maxLookbackMs: number,
  maxSymbolsPerRequest = Number.POSITIVE_INFINITY,
): BackfillPlan | null {
  const floor = Math.floor((nowMs - maxLookbackMs) / MINUTE_MS) * MINUTE_MS;
  // Lenient by one minute: our estimate of the broker's time may lag the server's.
  const lastPossiblyComplete = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
  const gaps = symbols.map((symbol) => {
    const last = lastPublished.get(symbol);
    // A symbol already up to date is asked for its newest minute: the answer settles it with the others.
    const start = last === undefined ? floor : Math.min(lastPossiblyComplete, Math.max(floor, last + MINUTE_MS));
    return { symbol, start, due: last === undefined || last + MINUTE_MS <= lastPossiblyComplete };
  });
  if (!gaps.some((g) => g.due)) return null;
  gaps.sort((a, b) => a.start - b.start || (a.symbol < b.symbol ? -1 : 1));
  const requests: BackfillRequest[] = [];
  for (let i = 0; i < gaps.length; i += maxSymbolsPerRequest) {
    const group = gaps.slice(i, i + maxSymbolsPerRequest);
    requests.push({ symbols: group.map((g) => g.symbol), start: group[0]!.start });
  }
  return { start: requests[0]!.start, end: nowMs, requests };
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
