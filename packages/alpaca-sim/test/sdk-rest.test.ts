import { errors, marketData, trading } from '@alpacahq/alpaca-trade-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sim } from '../src/index.js';
import { KEY, SECRET, control, fastSim } from './helpers.js';

let sim: Sim;
let api: {
  assets: trading.AssetsApi;
  clock: trading.ClockApi;
  calendar: trading.CalendarApi;
  account: trading.AccountsApi;
  orders: trading.OrdersApi;
  positions: trading.PositionsApi;
  stocks: marketData.StockApi;
};

beforeAll(async () => {
  // Start at 11:00 on a trading day so there is history; slow clock so REST sees a stable "now".
  sim = await fastSim({
    symbols: ['SPY', 'AAPL', 'THIN'],
    sparseSymbols: ['THIN'],
    clock: { start: '2026-01-06T16:00:00Z', msPerMinute: 60_000 },
  });
  const shared = { keyId: KEY, secret: SECRET, retry: { maxRetries: 0 } };
  const t = new trading.Configuration({ ...shared, basePath: sim.url });
  const d = new marketData.Configuration({ ...shared, basePath: sim.url });
  api = {
    assets: new trading.AssetsApi(t),
    clock: new trading.ClockApi(t),
    calendar: new trading.CalendarApi(t),
    account: new trading.AccountsApi(t),
    orders: new trading.OrdersApi(t),
    positions: new trading.PositionsApi(t),
    stocks: new marketData.StockApi(d),
  };
});
afterAll(() => sim.close());

describe('official SDK REST clients against the simulator', () => {
  it('lists every simulated symbol as an active US equity', async () => {
    const assets = await api.assets.getV2Assets({ status: 'active', assetClass: 'us_equity' });
    expect(assets.map((a) => [a.symbol, a.status, a.tradable])).toEqual([
      ['SPY', 'active', true],
      ['AAPL', 'active', true],
      ['THIN', 'active', true],
    ]);
    expect(await api.assets.getV2Assets({ status: 'inactive' })).toEqual([]);
  });

  it('pages through multi-symbol bars, symbol by symbol, with a limit across symbols', async () => {
    const seen: Record<string, string[]> = {};
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const page = await api.stocks.stockBars({
        symbols: 'SPY,AAPL,THIN',
        timeframe: '1Min',
        start: new Date('2026-01-06T14:30:00Z'),
        end: new Date('2026-01-06T16:00:00Z'),
        limit: 50,
        feed: 'iex',
        ...(pageToken ? { pageToken } : {}),
      });
      for (const [s, bars] of Object.entries(page.bars))
        seen[s] = [...(seen[s] ?? []), ...(bars as unknown as { t: string }[]).map((b) => new Date(b.t).toISOString())];
      pageToken = page.nextPageToken ?? undefined;
      pages += 1;
    } while (pageToken);
    expect(pages).toBeGreaterThan(3);
    expect(seen.SPY).toHaveLength(90);
    expect(new Set(seen.SPY).size).toBe(90);
    expect(seen.AAPL).toHaveLength(90);
    expect(seen.THIN!.length).toBeLessThan(80);
    // Only completed minutes: the 16:00 bar is still open.
    expect(seen.SPY!.at(-1)).toBe('2026-01-06T15:59:00.000Z');
  });

  it('serves the single-symbol endpoint, descending, with the same bars the stream model produces', async () => {
    const r = await api.stocks.stockBarSingle({
      symbol: 'SPY',
      timeframe: '1Min',
      start: new Date('2026-01-06T14:30:00Z'),
      limit: 3,
      sort: 'desc',
      feed: 'iex',
    });
    expect(r.symbol).toBe('SPY');
    expect(r.bars.map((b) => b.t.toISOString())).toEqual([
      '2026-01-06T15:59:00.000Z',
      '2026-01-06T15:58:00.000Z',
      '2026-01-06T15:57:00.000Z',
    ]);
    expect(r.nextPageToken).toBeTruthy();
  });

  it('reads the v3 and v2 clocks and the calendar', async () => {
    const v3 = await api.clock.clock();
    expect(v3.clocks[0]).toMatchObject({ phase: 'core', isMarketDay: true });
    const v2 = await api.clock.legacyClock();
    expect(v2.isOpen).toBe(true);
    expect(v2.nextClose.toISOString()).toBe('2026-01-06T21:00:00.000Z');
    const days = await api.calendar.legacyCalendar({ start: new Date('2026-11-25'), end: new Date('2026-11-30') });
    expect(days.map((d) => [d.date.toISOString().slice(0, 10), d.close])).toEqual([
      ['2026-11-25', '16:00'],
      ['2026-11-27', '13:00'],
      ['2026-11-30', '16:00'],
    ]);
  });

  it('places, lists and flattens orders; rejects a reused client_order_id', async () => {
    const buy = await api.orders.postOrder({
      postOrderRequest: {
        symbol: 'SPY',
        qty: '10',
        side: 'buy',
        type: 'market',
        timeInForce: 'day',
        clientOrderId: 'sim-1',
      },
    });
    expect(buy.clientOrderId).toBe('sim-1');
    await expect(
      api.orders.postOrder({
        postOrderRequest: {
          symbol: 'SPY',
          qty: '1',
          side: 'buy',
          type: 'market',
          timeInForce: 'day',
          clientOrderId: 'sim-1',
        },
      }),
    ).rejects.toMatchObject({ status: 422, message: expect.stringContaining('client_order_id must be unique') });
    const far = await api.orders.postOrder({
      postOrderRequest: {
        symbol: 'AAPL',
        qty: '1',
        side: 'buy',
        type: 'limit',
        limitPrice: '1.00',
        timeInForce: 'gtc',
      },
    });
    expect((await api.orders.getAllOrders({ status: 'open' })).map((o) => o.id)).toEqual([far.id]);
    const [position] = await api.positions.getAllOpenPositions();
    expect(position).toMatchObject({ symbol: 'SPY', qty: '10', side: 'long' });
    const account = await api.account.getAccount();
    expect(Number(account.cash)).toBeLessThan(100_000);
    // The account opened the session flat in cash: the day's P&L (equity − last_equity) is what it made since.
    expect(Number(account.lastEquity)).toBe(100_000);
    sim.broker.cash += 250; // a gain, as if a position had been sold higher
    const later = await api.account.getAccount();
    expect(Number(later.equity) - Number(later.lastEquity)).toBeCloseTo(250, 2);
    sim.broker.cash -= 250;
    const closed = await api.positions.deleteAllOpenPositions({ cancelOrders: true });
    expect(closed).toEqual([
      expect.objectContaining({
        symbol: 'SPY',
        status: 200,
        body: expect.objectContaining({ side: 'sell', qty: '10' }),
      }),
    ]);
    expect(await api.positions.getAllOpenPositions()).toEqual([]);
    expect(await api.orders.getAllOrders({ status: 'open' })).toEqual([]);
    expect((await api.orders.getAllOrders({ status: 'all' })).map((o) => o.status).sort()).toEqual([
      'canceled',
      'filled',
      'filled',
    ]);
    expect(await api.orders.deleteAllOrders()).toEqual([]);
  });

  it('answers 401 without valid keys, 400 for bad queries, and REST faults with their status', async () => {
    const bad = new trading.ClockApi(
      new trading.Configuration({ keyId: KEY, secret: 'nope', basePath: sim.url, retry: { maxRetries: 0 } }),
    );
    await expect(bad.legacyClock()).rejects.toBeInstanceOf(errors.AuthError);
    const res = await fetch(`${sim.url}/v2/stocks/bars?symbols=SPY&timeframe=5Hours`, {
      headers: { 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ message: expect.stringContaining('1Min') });
    await control(sim, 'POST', '/sim/faults', { kind: 'rest_error', status: 503, scope: 'data', count: 1 });
    await expect(api.stocks.stockBars({ symbols: 'SPY', timeframe: '1Min' })).rejects.toMatchObject({ status: 503 });
    await expect(api.clock.legacyClock()).resolves.toBeDefined();
    await expect(api.stocks.stockBars({ symbols: 'SPY', timeframe: '1Min' })).resolves.toBeDefined();
  });
});
