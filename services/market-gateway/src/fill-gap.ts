import type { Feed } from '@vigil/contracts';
import { newBarsFor, planBackfill, settledThrough, type BackfillWindow } from './backfill.js';
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
  /** The newest minute this answer settled for every symbol (see `settledThrough`). */
  settledThrough: number;
}

/**
 * Fetch every symbol's gap (requests grouped by where the gaps start, see `planBackfill`) and offer the new bars,
 * oldest first per symbol, each request's as soon as it is answered.
 */
export async function fillGap(req: FillGapRequest): Promise<FillGapResult | null> {
  const { publisher } = req;
  const plan = planBackfill(
    req.symbols,
    publisher.lastPublished(),
    req.brokerNowMs,
    req.maxLookbackMs,
    req.bars.maxSymbolsPerRequest,
  );
  if (!plan) return null;
  const receivedAt = new Date(req.brokerNowMs);
  const answered: WireBar[][] = [];
  let pages = 0;
  let offered = 0;
  for (const request of plan.requests) {
    const answer = await fetchBars(req.bars.stocks, {
      symbols: request.symbols,
      start: request.start,
      feed: req.feed,
      ...(req.maxPages ? { maxPages: req.maxPages } : {}),
      ...(req.bars.beforeRequest ? { beforeRequest: req.bars.beforeRequest } : {}),
    });
    pages += answer.pages;
    for (const bad of answer.invalid) req.rejectBar(bad.symbol, req.source, bad.raw, bad.error);
    for (const symbol of request.symbols) {
      const bars = answer.bars.get(symbol) ?? [];
      answered.push(bars);
      for (const wire of newBarsFor(bars, publisher.lastPublished().get(symbol))) {
        const converted = barFromWire(wire, symbol, req.source, req.feed, receivedAt);
        if (!converted.ok) req.rejectBar(symbol, req.source, wire, converted.error);
        else if (publisher.offer(converted.bar) === 'queued') offered += 1;
      }
    }
  }
  const window = { start: plan.start, end: plan.end };
  return { window, pages, offered, settledThrough: settledThrough(answered, req.brokerNowMs) };
}
