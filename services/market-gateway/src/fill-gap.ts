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

export interface FillGapRequest {
  bars: BarsSource;
  publisher: BarPublisher;
  symbols: readonly string[];
  feed: Feed;
  maxLookbackMs: number;
  source: 'backfill' | 'poll';
  brokerNowMs: number;
  maxPages?: number;
  /** Where a bar that is not a valid bar goes (logged and counted); it is never offered. */
  rejectBar: RejectBar;
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
export async function fillGap(req: FillGapRequest): Promise<FillGapResult | null> {
  const plan = planBackfill(
    req.symbols,
    req.publisher.lastPublished(),
    req.brokerNowMs,
    req.maxLookbackMs,
    req.bars.maxSymbolsPerRequest,
  );
  if (!plan) return null;
  const { pages, offered } = await fetchAndOffer(plan.requests, req);
  return { window: { start: plan.start, end: plan.end }, pages, offered };
}

export type CheckGapsRequest = Omit<FillGapRequest, 'symbols' | 'source'> & {
  /** Per symbol, the minute of the live bar that skipped minutes (the newest, if several). */
  skippedTo: ReadonlyMap<string, number>;
};

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
 * from the minute before its live bar on (see `unsettled`).
 */
export async function checkGaps(req: CheckGapsRequest): Promise<CheckGapsResult> {
  const requests = planGapChecks(
    req.skippedTo,
    req.publisher.lastPublished(),
    req.maxLookbackMs,
    req.bars.maxSymbolsPerRequest,
  );
  const { pages, offered, answer } = await fetchAndOffer(requests, { ...req, source: 'backfill' });
  const asked = new Map(requests.flatMap((r) => r.symbols.map((s) => [s, req.skippedTo.get(s)!] as const)));
  return { checked: asked.size, pages, offered, unsettled: unsettled(asked, answer) };
}

async function fetchAndOffer(
  requests: readonly BackfillRequest[],
  req: Pick<FillGapRequest, 'bars' | 'publisher' | 'feed' | 'source' | 'brokerNowMs' | 'maxPages' | 'rejectBar'>,
): Promise<{ pages: number; offered: number; answer: Map<string, WireBar[]> }> {
  const { publisher } = req;
  const receivedAt = new Date(req.brokerNowMs);
  const answer = new Map<string, WireBar[]>();
  let pages = 0;
  let offered = 0;
  for (const request of requests) {
    const fetched = await fetchBars(req.bars.stocks, {
      symbols: request.symbols,
      start: request.start,
      feed: req.feed,
      ...(req.maxPages ? { maxPages: req.maxPages } : {}),
      ...(req.bars.beforeRequest ? { beforeRequest: req.bars.beforeRequest } : {}),
    });
    pages += fetched.pages;
    for (const bad of fetched.invalid) req.rejectBar(bad.symbol, req.source, bad.raw, bad.error);
    for (const symbol of request.symbols) {
      const bars = fetched.bars.get(symbol) ?? [];
      answer.set(symbol, bars);
      for (const wire of newBarsFor(bars, publisher.lastPublished().get(symbol))) {
        const converted = barFromWire(wire, symbol, req.source, req.feed, receivedAt);
        if (!converted.ok) req.rejectBar(symbol, req.source, wire, converted.error);
        else if (publisher.offer(converted.bar) === 'queued') offered += 1;
      }
    }
  }
  return { pages, offered, answer };
}
