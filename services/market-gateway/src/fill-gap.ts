import type { Feed } from '@vigil/contracts';
import type { AlpacaRest } from '@vigil/service-kit';
import { newBarsFor, planBackfill, settledThrough, type BackfillWindow } from './backfill.js';
import { barFromWire, type RejectBar } from './bars.js';
import type { BarPublisher } from './publisher.js';
import { fetchBars } from './rest-bars.js';

export interface FillGapRequest {
  stocks: AlpacaRest['stocks'];
  publisher: BarPublisher;
  symbols: string[];
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

/** Fetch every symbol's gap in one paginated multi-symbol request and offer the new bars, oldest first. */
export async function fillGap(req: FillGapRequest): Promise<FillGapResult | null> {
  const { publisher, symbols } = req;
  const window = planBackfill(symbols, publisher.lastPublished(), req.brokerNowMs, req.maxLookbackMs);
  if (!window) return null;
  const { bars, pages, invalid } = await fetchBars(req.stocks, {
    symbols,
    start: window.start,
    feed: req.feed,
    ...(req.maxPages ? { maxPages: req.maxPages } : {}),
  });
  const receivedAt = new Date(req.brokerNowMs);
  for (const bad of invalid) req.rejectBar(bad.symbol, req.source, bad.raw, bad.error);
  let offered = 0;
  for (const symbol of symbols) {
    for (const wire of newBarsFor(bars.get(symbol) ?? [], publisher.lastPublished().get(symbol))) {
      const converted = barFromWire(wire, symbol, req.source, req.feed, receivedAt);
      if (!converted.ok) req.rejectBar(symbol, req.source, wire, converted.error);
      else if (publisher.offer(converted.bar) === 'queued') offered += 1;
    }
  }
  return { window, pages, offered, settledThrough: settledThrough(bars.values(), req.brokerNowMs) };
}
