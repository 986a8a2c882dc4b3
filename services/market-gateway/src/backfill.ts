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
    // A symbol already up to date (by the estimate, which may lag) is asked for its newest minute in the same request.
    const start = last === undefined ? floor : Math.min(lastPossiblyComplete, Math.max(floor, last + MINUTE_MS));
    return { symbol, start, due: last === undefined || last + MINUTE_MS <= lastPossiblyComplete };
  });
  if (!gaps.some((g) => g.due)) return null;
  const requests = groupByStart(gaps, maxSymbolsPerRequest);
  return { start: requests[0]!.start, end: nowMs, requests };
}

/**
 * The requests of a gap check: each symbol whose live bar skipped minutes is asked from the minute after its last
 * published bar, or from `maxLookbackMs` before the live bar for a symbol never published. No clock is read: the
 * live bar itself says which minutes are in doubt.
 */
export function planGapChecks(
  skippedTo: ReadonlyMap<string, number>,
  lastPublished: ReadonlyMap<string, number>,
  maxLookbackMs: number,
  maxSymbolsPerRequest = Number.POSITIVE_INFINITY,
): BackfillRequest[] {
  const gaps: Array<{ symbol: string; start: number }> = [];
  for (const [symbol, liveT] of skippedTo) {
    const last = lastPublished.get(symbol);
    if (last === undefined) gaps.push({ symbol, start: Math.floor((liveT - maxLookbackMs) / MINUTE_MS) * MINUTE_MS });
    else if (liveT > last + MINUTE_MS) gaps.push({ symbol, start: last + MINUTE_MS });
  }
  return gaps.length === 0 ? [] : groupByStart(gaps, maxSymbolsPerRequest);
}

/** Oldest gaps first, at most `max` symbols a request, each request from its oldest symbol's start. */
function groupByStart(gaps: Array<{ symbol: string; start: number }>, max: number): BackfillRequest[] {
  gaps.sort((a, b) => a.start - b.start || (a.symbol < b.symbol ? -1 : 1));
  const requests: BackfillRequest[] = [];
  for (let i = 0; i < gaps.length; i += max) {
    const group = gaps.slice(i, i + max);
    requests.push({ symbols: group.map((g) => g.symbol), start: group[0]!.start });
  }
  return requests;
}

/** The bars a symbol still needs, oldest first: strictly after its last published bar. */
export function newBarsFor<T extends { t: string }>(bars: readonly T[], lastPublishedMs: number | undefined): T[] {
  return bars
    .filter((b) => lastPublishedMs === undefined || Date.parse(b.t) > lastPublishedMs)
    .sort((a, b) => Date.parse(a.t) - Date.parse(b.t));
}

/**
 * A live bar that skips minutes after the symbol's newest bar (sent, or held behind a check) leaves them in doubt:
 * a bar lost or late on the stream, or just a quiet minute on IEX. So does a symbol's first bar, when no backfill
 * found any before it (REST lagging at start, say). Only REST can tell, so each one is checked.
 */
export function opensGap(t: number, newestSeenMs: number | undefined): boolean {
  return newestSeenMs === undefined || t > newestSeenMs + MINUTE_MS;
}

/**
 * A minute is settled for a symbol only by a REST answer holding that minute's bar or a later one of that symbol
 * (no clock estimate settles anything). The minutes in doubt run up to the one before the live bar, so the symbols
 * of `skippedTo` whose answer holds no bar from that minute on are still unsettled: REST lags the stream for them.
 */
export function unsettled(
  skippedTo: ReadonlyMap<string, number>,
  answer: ReadonlyMap<string, readonly { t: string }[]>,
): string[] {
  return [...skippedTo]
    .filter(([symbol, liveT]) => !(answer.get(symbol) ?? []).some((b) => Date.parse(b.t) >= liveT - MINUTE_MS))
    .map(([symbol]) => symbol);
}
