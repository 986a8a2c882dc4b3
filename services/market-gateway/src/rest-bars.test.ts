import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAlpacaRest } from '@vigil/service-kit';
import { afterEach, expect, it } from 'vitest';
import { BarsFetchError, fetchBars } from './rest-bars.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => server?.close(r));
  server = undefined;
});

/** A real HTTP server answering every request with `body`, standing in for Alpaca's data API. */
async function dataApi(body: unknown): Promise<string> {
  server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
  );
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const stocks = (url: string) =>
  createAlpacaRest({ APCA_API_KEY_ID: 'k', APCA_API_SECRET_KEY: 's', ALPACA_TRADING_URL: url, ALPACA_DATA_URL: url })
    .stocks;
const good = (t: string) => ({ t, o: 100, h: 101, l: 99, c: 100.5, v: 10, n: 2, vw: 100.2 });

it('keeps the good bars of a page and reports a malformed one, instead of failing the whole page', async () => {
  const url = await dataApi({
    bars: { SPY: [good('2026-01-06T15:00:00Z'), { t: '2026-01-06T15:01:00Z', o: -1 }, good('2026-01-06T15:02:00Z')] },
    next_page_token: null,
  });
  const { bars, invalid } = await fetchBars(stocks(url), {
    symbols: ['SPY'],
    start: Date.parse('2026-01-06T15:00:00Z'),
    feed: 'iex',
  });
  expect(bars.get('SPY')?.map((b) => b.t)).toEqual(['2026-01-06T15:00:00Z', '2026-01-06T15:02:00Z']);
  expect(invalid).toEqual([expect.objectContaining({ symbol: 'SPY', error: expect.stringContaining('o') })]);
});

it('still refuses a page that is not a bars page at all', async () => {
  const url = await dataApi({ bars: 'nope' });
  await expect(fetchBars(stocks(url), { symbols: ['SPY'], start: 0, feed: 'iex' })).rejects.toBeInstanceOf(
    BarsFetchError,
  );
});

it('follows page tokens to the end, asking the budget before every page', async () => {
  const asked: string[] = [];
  server = createServer((req, res) => {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('page_token');
    asked.push(token ?? 'first');
    const body =
      token === null
        ? { bars: { A: [good('2026-01-06T15:00:00Z')] }, next_page_token: 'p2' }
        : { bars: { B: [good('2026-01-06T15:00:00Z')] }, next_page_token: null };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let budgetAsked = 0;
  const { bars, pages } = await fetchBars(stocks(url), {
    symbols: ['A', 'B'],
    start: Date.parse('2026-01-06T15:00:00Z'),
    feed: 'iex',
    beforeRequest: async () => {
      budgetAsked += 1;
    },
  });
  expect(asked).toEqual(['first', 'p2']);
  expect([pages, budgetAsked]).toEqual([2, 2]);
  expect([...bars.keys()]).toEqual(['A', 'B']);
});
