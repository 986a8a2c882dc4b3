import type { Feed } from '@vigil/contracts';
import type { AlpacaRest } from '@vigil/service-kit';
import { newBarsFor, planBackfill, settledThrough, type BackfillWindow } from './backfill.js';
import { toBar } from './bars.js';
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
  const { bars, pages } = await fetchBars(req.stocks, {
    symbols,
    start: window.start,
    feed: req.feed,
    ...(req.maxPages ? { maxPages: req.maxPages } : {}),
  });
  const receivedAt = new Date(req.brokerNowMs);
  let offered = 0;
  for (const symbol of symbols) {
    for (const wire of newBarsFor(bars.get(symbol) ?? [], publisher.lastPublished().get(symbol))) {
      if (publisher.offer(toBar(wire, symbol, req.source, req.feed, receivedAt)) === 'queued') offered += 1;
    }
  }
  return { window, pages, offered, settledThrough: settledThrough(bars.values(), req.brokerNowMs) };
}
