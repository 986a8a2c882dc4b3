import type { ServerResponse } from 'node:http';
import * as z from 'zod';
import { historicalBars, type Bar, type MarketModel } from './bars.js';
import { nyDate, nyTime } from './calendar.js';
import { describeIssues, queryObject, sendError, sendJson } from './http-util.js';
import { symbolSchema } from './symbol.js';

/** RFC-3339 with any offset (seconds to nanoseconds) or a bare date, as Alpaca accepts. */
const instant = z
  .string()
  .refine(
    (s) =>
      /^\d{4}-\d{2}-\d{2}$/.test(s) ||
      (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s))),
    {
      error: 'expected RFC-3339 or YYYY-MM-DD',
    },
  );

const barsQuery = z.object({
  timeframe: z.enum(['1Min', '1T'], { error: 'the simulator serves timeframe=1Min only' }),
  start: instant.optional(),
  end: instant.optional(),
  limit: z
    .string()
    .regex(/^\d+$/, { error: 'limit must be a whole number' })
    .transform(Number)
    .pipe(z.int().min(1).max(10_000))
    .default(1000),
  feed: z.enum(['sip', 'iex', 'boats', 'otc', 'delayed_sip']).optional(),
  sort: z.enum(['asc', 'desc']).default('asc'),
  page_token: z.string().max(512).optional(),
  adjustment: z.string().max(64).optional(),
  asof: z.string().max(16).optional(),
  currency: z.string().max(8).optional(),
});
const multiQuery = barsQuery.extend({
  symbols: z
    .string()
    .min(1, { error: 'symbols is required' })
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(symbolSchema).min(1).max(1000)),
});

export interface DataContext {
  model: MarketModel;
  now: () => number;
  /** The `rest_lag` fault: REST serves `symbols` (all when absent) as the market was `ms` ago. */
  lag?: { ms: number; symbols?: readonly string[] };
}

function toMs(s: string, endOfDay: boolean): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return Date.parse(`${s}T00:00:00Z`) + (endOfDay ? 86_400_000 - 1 : 0);
  return Date.parse(s);
}

interface Cursor {
  s: string;
  t: string;
}

function encodeToken(c: Cursor): string {
  return Buffer.from(`${c.s}|${c.t}`).toString('base64url');
}

function decodeToken(token: string): Cursor | null {
  const [s, t] = Buffer.from(token, 'base64url').toString('utf8').split('|');
  return s && t && !Number.isNaN(Date.parse(t)) ? { s, t } : null;
}

/**
 * One page of bars across `symbols`, ordered by symbol then time, at most `limit` in total, and the
 * token of the last bar returned when more remain (keyset paging, so bars completing meanwhile are safe).
 */
export function pageBars(
  ctx: DataContext,
  symbols: string[],
  q: z.infer<typeof barsQuery>,
): { bars: Map<string, Bar[]>; next: string | null } | { error: string } {
  const now = ctx.now();
  const fromMs = q.start ? toMs(q.start, false) : nyTime(nyDate(now), 0, 0);
  const toMsIncl = q.end ? toMs(q.end, true) : now;
  const cursor = q.page_token ? decodeToken(q.page_token) : null;
  if (q.page_token && !cursor) return { error: 'invalid page token' };
  const out = new Map<string, Bar[]>();
  let count = 0;
  for (const symbol of [...new Set(symbols)].sort()) {
    if (cursor && symbol < cursor.s) continue;
    let bars = historicalBars(ctx.model, symbol, fromMs, toMsIncl, now - lagFor(ctx, symbol));
    if (q.sort === 'desc') bars = bars.reverse();
    if (cursor && symbol === cursor.s) bars = bars.filter((b) => (q.sort === 'asc' ? b.t > cursor.t : b.t < cursor.t));
    for (const bar of bars) {
      if (count === q.limit) return { bars: out, next: encodeToken(lastOf(out)) };
      const list = out.get(symbol) ?? [];
      list.push(bar);
      out.set(symbol, list);
      count += 1;
    }
  }
  return { bars: out, next: null };
}

function lagFor(ctx: DataContext, symbol: string): number {
  return ctx.lag && (!ctx.lag.symbols || ctx.lag.symbols.includes(symbol)) ? ctx.lag.ms : 0;
}

function lastOf(out: Map<string, Bar[]>): Cursor {
  const [symbol, bars] = [...out].at(-1)!;
  return { s: symbol, t: bars.at(-1)!.t };
}

const wire = ({ S: _s, ...rest }: Bar) => rest;

/** `GET /v2/stocks/bars` and `GET /v2/stocks/{symbol}/bars`. */
export function handleBars(ctx: DataContext, url: URL, res: ServerResponse, single: string | undefined): void {
  const query = queryObject(url);
  const parsed = single === undefined ? multiQuery.safeParse(query) : barsQuery.safeParse(query);
  if (!parsed.success) return sendError(res, 400, describeIssues(parsed.error));
  if (single !== undefined && !symbolSchema.safeParse(single).success)
    return sendError(res, 400, `invalid symbol: ${single}`);
  const symbols = single !== undefined ? [single] : (parsed.data as z.infer<typeof multiQuery>).symbols;
  const page = pageBars(ctx, symbols, parsed.data);
  if ('error' in page) return sendError(res, 400, page.error);
  if (single !== undefined) {
    return sendJson(res, 200, {
      bars: (page.bars.get(single) ?? []).map(wire),
      symbol: single,
      next_page_token: page.next,
      currency: 'USD',
    });
  }
  const bars = Object.fromEntries([...page.bars].map(([s, list]) => [s, list.map(wire)]));
  sendJson(res, 200, { bars, next_page_token: page.next, currency: 'USD' });
}
