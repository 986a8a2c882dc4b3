import type { AlpacaRest } from '@vigil/service-kit';
import * as z from 'zod';
import { BarsPage, WireBar } from './alpaca-messages.js';

export class BarsFetchError extends Error {
  override name = 'BarsFetchError';
}

/** Where a component gets its bars: Alpaca's API, how many symbols a request, and the REST budget to ask first. */
export interface BarsSource {
  stocks: AlpacaRest['stocks'];
  /** At most this many symbols a request (they ride in the URL); callers group longer lists. */
  maxSymbolsPerRequest?: number;
  /** Awaited before every page is requested: the gateway's REST budget. */
  beforeRequest?: () => Promise<void>;
}

export interface FetchBarsRequest {
  /** One request's symbols: callers group long lists (`planBackfill`, the audit), as they ride in the URL. */
  symbols: readonly string[];
  start: number;
  /** Omit to get every completed minute. */
  end?: number;
  feed: string;
  /** Safety stop for a server that keeps returning page tokens. */
  maxPages?: number;
  /** Awaited before every page is requested: the REST budget. */
  beforeRequest?: () => Promise<void>;
}

/**
 * One multi-symbol `GET /v2/stocks/bars` request, following `next_page_token` to the end. The body is
 * validated here, not trusted: a malformed page is a `BarsFetchError` naming what was wrong; a malformed bar in
 * a good page is returned in `invalid`, for the caller to report, and the rest of the page is used.
 */
export interface InvalidRestBar {
  symbol: string;
  raw: unknown;
  error: string;
}

export async function fetchBars(
  stocks: AlpacaRest['stocks'],
  req: FetchBarsRequest,
): Promise<{ bars: Map<string, WireBar[]>; pages: number; invalid: InvalidRestBar[] }> {
  const bars = new Map<string, WireBar[]>();
  const invalid: InvalidRestBar[] = [];
  let pageToken: string | undefined;
  let pages = 0;
  do {
    await req.beforeRequest?.();
    let body: unknown;
    try {
      const res = await stocks.stockBarsRaw({
        symbols: req.symbols.join(','),
        timeframe: '1Min',
        start: new Date(req.start),
        ...(req.end !== undefined ? { end: new Date(req.end) } : {}),
        limit: 10_000,
        feed: req.feed as never,
        sort: 'asc' as never,
        ...(pageToken ? { pageToken } : {}),
      });
      body = await res.raw.json();
    } catch (cause) {
      throw new BarsFetchError(`bars request failed: ${describe(cause)}`, { cause });
    }
    const page = BarsPage.safeParse(body);
    if (!page.success)
      throw new BarsFetchError(`bars response is malformed: ${z.prettifyError(page.error).replace(/\n\s*/g, ' ')}`, {
        cause: page.error,
      });
    for (const [symbol, list] of Object.entries(page.data.bars ?? {})) {
      const acc = bars.get(symbol) ?? [];
      for (const raw of list ?? []) {
        const bar = WireBar.safeParse(raw);
        if (bar.success) acc.push(bar.data);
        else invalid.push({ symbol, raw, error: z.prettifyError(bar.error).replace(/\n\s*/g, ' ') });
      }
      bars.set(symbol, acc);
    }
    pages += 1;
    pageToken = page.data.next_page_token ?? undefined;
    if (pages >= (req.maxPages ?? 50) && pageToken)
      throw new BarsFetchError(`bars response still paginating after ${pages} pages; narrow the window`);
  } while (pageToken);
  return { bars, pages, invalid };
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; status?: number; response?: { status?: number } };
  const status = e.status ?? e.response?.status;
  return `${e.name ?? 'Error'}${status ? ` ${status}` : ''}: ${e.message ?? String(err)}`;
}
