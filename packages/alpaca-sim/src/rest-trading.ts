import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import { type Broker, orderRequest } from './broker.js';
import { nyDate } from './calendar.js';
import { describeIssues, queryObject, readBody, sendError, sendJson } from './http-util.js';
import { calendarDays, clockV3, legacyClock } from './trading-clock.js';

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}/, { error: 'expected YYYY-MM-DD' })
  .transform((s) => s.slice(0, 10));
const calendarQuery = z.object({
  start: day.default('2024-01-01'),
  end: day.default('2027-12-31'),
  date_type: z.enum(['TRADING', 'SETTLEMENT']).optional(),
});
const ordersQuery = z.object({
  status: z.enum(['open', 'closed', 'all']).default('open'),
  limit: z.string().regex(/^\d+$/).transform(Number).pipe(z.int().min(1).max(500)).default(50),
  direction: z.enum(['asc', 'desc']).default('desc'),
  symbols: z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .optional(),
  side: z.enum(['buy', 'sell']).optional(),
  nested: z.enum(['true', 'false']).optional(),
  after: z.string().optional(),
  until: z.string().optional(),
});
const assetsQuery = z.object({
  status: z.enum(['active', 'inactive']).optional(),
  asset_class: z.enum(['us_equity', 'us_option', 'crypto']).default('us_equity'),
});
const closeAllQuery = z.object({ cancel_orders: z.enum(['true', 'false']).default('false') });

export interface TradingContext {
  broker: Broker;
  now: () => number;
  /** What `/v2/clock` and `/v3/clock` report as now (the broker's time at its reporting resolution). */
  clockNow: () => number;
  accountId: string;
  /** The simulated market's symbols: the tradable assets. */
  symbols: readonly string[];
}

/** Trading API routes under /v2 and /v3; returns false when the path is not one of them. */
export async function handleTrading(
  ctx: TradingContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const q = queryObject(url);
  const { broker } = ctx;
  const route = `${method} ${path}`;
  if (route === 'GET /v2/clock') return done(sendJson(res, 200, legacyClock(ctx.clockNow())));
  if (route === 'GET /v3/clock') return done(sendJson(res, 200, clockV3(ctx.clockNow())));
  if (route === 'GET /v2/calendar') {
    const p = calendarQuery.safeParse(q);
    return done(
      p.success
        ? sendJson(res, 200, calendarDays(p.data.start, p.data.end))
        : sendError(res, 400, describeIssues(p.error)),
    );
  }
  if (route === 'GET /v2/account') return done(sendJson(res, 200, account(ctx)));
  if (route === 'GET /v2/assets') {
    const p = assetsQuery.safeParse(q);
    return done(
      p.success ? sendJson(res, 200, assets(ctx, p.data.status)) : sendError(res, 422, describeIssues(p.error)),
    );
  }
  if (route === 'GET /v2/positions')
    return done(
      sendJson(
        res,
        200,
        [...broker.positions.keys()].sort().map((s) => broker.positionView(s)),
      ),
    );
  if (route === 'DELETE /v2/positions') {
    const p = closeAllQuery.safeParse(q);
    return done(
      p.success
        ? sendJson(res, 207, broker.closeAll(p.data.cancel_orders === 'true'))
        : sendError(res, 400, describeIssues(p.error)),
    );
  }
  const position = /^\/v2\/positions\/([^/]+)$/.exec(path);
  if (position) {
    const symbol = decodeURIComponent(position[1]!);
    if (method === 'GET') {
      const view = broker.positionView(symbol);
      return done(view ? sendJson(res, 200, view) : sendError(res, 404, 'position does not exist'));
    }
    if (method === 'DELETE') return done(result(res, broker.close(symbol), 200));
  }
  if (route === 'POST /v2/orders') return done(await postOrder(ctx, req, res));
  if (route === 'GET /v2/orders') {
    const p = ordersQuery.safeParse(q);
    return done(p.success ? sendJson(res, 200, broker.list(p.data)) : sendError(res, 422, describeIssues(p.error)));
  }
  if (route === 'DELETE /v2/orders') return done(sendJson(res, 207, broker.cancelAll()));
  if (route === 'GET /v2/orders:by_client_order_id') {
    const order = broker.byClientOrderId(q.client_order_id ?? '');
    return done(order ? sendJson(res, 200, order) : sendError(res, 404, 'order not found'));
  }
  const order = /^\/v2\/orders\/([^/]+)$/.exec(path);
  if (order) {
    const id = decodeURIComponent(order[1]!);
    if (method === 'GET') {
      const o = broker.get(id);
      return done(o ? sendJson(res, 200, o) : sendError(res, 404, 'order not found'));
    }
    if (method === 'DELETE') {
      const r = broker.cancel(id);
      return done(r.ok ? sendJson(res, 204, undefined) : sendError(res, r.status, r.message));
    }
  }
  return false;
}

async function postOrder(ctx: TradingContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const text = await readBody(req);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return sendError(res, 400, 'request body format is invalid');
  }
  const p = orderRequest.safeParse(body);
  if (!p.success) return sendError(res, 422, describeIssues(p.error));
  result(res, ctx.broker.submit(p.data), 200);
}

function result(res: ServerResponse, r: ReturnType<Broker['submit']>, status: number): void {
  if (r.ok) sendJson(res, status, r.value);
  else sendError(res, r.status, r.message);
}

/** `GET /v2/assets`: every simulated symbol, an active and tradable US equity (none is inactive). */
function assets(ctx: TradingContext, status: 'active' | 'inactive' | undefined): Record<string, unknown>[] {
  if (status === 'inactive') return [];
  return ctx.symbols.map((symbol, i) => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    class: 'us_equity',
    exchange: 'IEX',
    symbol,
    name: `${symbol} (simulated)`,
    status: 'active',
    tradable: true,
    marginable: true,
    shortable: true,
    easy_to_borrow: true,
    fractionable: false,
  }));
}

function account(ctx: TradingContext): Record<string, unknown> {
  const { broker } = ctx;
  const long = broker.longMarketValue();
  const short = broker.shortMarketValue();
  const equity = broker.cash + long + short;
  const m = (x: number) => x.toFixed(2);
  return {
    id: ctx.accountId,
    account_number: 'PA3SIM000001',
    status: 'ACTIVE',
    crypto_status: 'INACTIVE',
    currency: 'USD',
    cash: m(broker.cash),
    portfolio_value: m(equity),
    equity: m(equity),
    last_equity: m(broker.lastEquity),
    buying_power: m(broker.buyingPower()),
    non_marginable_buying_power: m(broker.buyingPower()),
    regt_buying_power: m(broker.buyingPower()),
    multiplier: '1',
    initial_margin: '0',
    maintenance_margin: '0',
    last_maintenance_margin: '0',
    long_market_value: m(long),
    short_market_value: m(short),
    sma: '0',
    accrued_fees: '0',
    pending_transfer_in: '0',
    pattern_day_trader: false,
    trading_blocked: false,
    transfers_blocked: false,
    account_blocked: false,
    trade_suspended_by_user: false,
    shorting_enabled: broker.margin,
    daytrade_count: 0,
    created_at: '2024-01-02T14:30:00Z',
    balance_asof: nyDate(ctx.now()),
  };
}

function done(_: unknown): true {
  return true;
}
