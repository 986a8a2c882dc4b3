import type { Feed } from '@vigil/contracts';
import {
  type BackfillRequest,
  type BackfillWindow,
  newBarsFor,
  planBackfill,
  planGapChecks,
  unsettled,
} from './backfill.js';
import type { WireBar } from './alpaca-messages.js';
import { barFromWire, type RejectBar } from './bars.js';
import type { BarPublisher } from './publisher.js';
import { type BarsSource, fetchBars } from './rest-bars.js';

/** What a REST fill needs from its owner (the gap filler, the outage poller), read as the fill starts. */
export interface RestFillDeps {
  bars: BarsSource;
  publisher: BarPublisher;
  /** The symbols to keep complete, as they are now (under SYMBOLS=* the universe grows). */
  symbols: () => readonly string[];
  feed: Feed;
  maxLookbackMs: number;
  /** Where a bar that is not a valid bar goes (logged and counted); it is never offered. */
  rejectBar: RejectBar;
  /** Broker time: the window must be on the clock the bars are stamped with. */
  brokerNow: () => number;
}

/** How the fetched bars are labelled, and the page limit for a fetch (a poll's is short). */
interface FillOptions {
  source: 'backfill' | 'poll';
  maxPages?: number;
}

export interface FillGapResult {
  window: BackfillWindow;
  pages: number;
  offered: number;
}

/**
 * Fetch every symbol's gap (requests grouped by where the gaps start, see `planBackfill`) and offer the new bars,
 * oldest first per symbol, each request's as soon as it is answered. It settles nothing: a minute in doubt stays
 * so until a live bar after it is checked (`checkGaps`) or the audit compares it.
 */
export async function fillGap(deps: RestFillDeps, options: FillOptions): Promise<FillGapResult | null> {
  const brokerNowMs = deps.brokerNow();
  const plan = planBackfill(
    deps.symbols(),
    deps.publisher.lastPublished(),
    brokerNowMs,
    deps.maxLookbackMs,
    deps.bars.maxSymbolsPerRequest,
  );
  if (!plan) return null;
  const { pages, offered } = await fetchAndOffer(plan.requests, deps, options, brokerNowMs);
  return { window: { start: plan.start, end: plan.end }, pages, offered };
}

export interface CheckGapsResult {
  /** Symbols asked: those whose gap was still open (a backfill may have closed it meanwhile). */
  checked: number;
  pages: number;
  offered: number;
  /** Asked, but REST holds no bar yet from the minute before the live one on: their skipped minutes are in doubt. */
  unsettled: string[];
}

/**
 * The gap check: ask REST, for only the symbols whose live bar skipped minutes, what those minutes hold, and offer
 * what the stream missed (its live bar waits behind them). A symbol is settled only when its own answer holds a bar
 * from the minute before its live bar on (see `unsettled`). `skippedTo`: per symbol, the minute of the live bar that
 * skipped minutes (the newest, if several).
 */
export async function checkGaps(deps: RestFillDeps, skippedTo: ReadonlyMap<string, number>): Promise<CheckGapsResult> {
  const requests = planGapChecks(
    skippedTo,
    deps.publisher.lastPublished(),
    deps.maxLookbackMs,
    deps.bars.maxSymbolsPerRequest,
  );
  const { pages, offered, answer } = await fetchAndOffer(requests, deps, { source: 'backfill' }, deps.brokerNow());
  const asked = new Map(requests.flatMap((r) => r.symbols.map((s) => [s, skippedTo.get(s)!] as const)));
  return { checked: asked.size, pages, offered, unsettled: unsettled(asked, answer) };
}

async function fetchAndOffer(
  requests: readonly BackfillRequest[],
  deps: RestFillDeps,
  { source, maxPages }: FillOptions,
  brokerNowMs: number,
): Promise<{ pages: number; offered: number; answer: Map<string, WireBar[]> }> {
  const { publisher, bars: rest, feed, rejectBar } = deps;
  const receivedAt = new Date(brokerNowMs);
  const answer = new Map<string, WireBar[]>();
  let pages = 0;
  let offered = 0;
  for (const request of requests) {
    const fetched = await fetchBars(rest.stocks, {
      symbols: request.symbols,
      start: request.start,
      feed,
      ...(maxPages ? { maxPages } : {}),
      ...(rest.beforeRequest ? { beforeRequest: rest.beforeRequest } : {}),
    });
    pages += fetched.pages;
    for (const bad of fetched.invalid) rejectBar(bad.symbol, source, bad.raw, bad.error);
    for (const symbol of request.symbols) {
      const bars = fetched.bars.get(symbol) ?? [];
      answer.set(symbol, bars);
      for (const wire of newBarsFor(bars, publisher.lastPublished().get(symbol))) {
        const converted = barFromWire(wire, symbol, source, feed, receivedAt);
        if (!converted.ok) rejectBar(symbol, source, wire, converted.error);
        else if (publisher.offer(converted.bar) === 'queued') offered += 1;
      }
    }
  }
  return { pages, offered, answer };
}
