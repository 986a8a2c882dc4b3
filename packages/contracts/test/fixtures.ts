/** A valid bar, shared by the contract tests. */
export const validBar = {
  v: 1,
  symbol: 'SPY',
  t: '2026-11-27T15:31:00Z',
  open: 600.1,
  high: 600.5,
  low: 599.9,
  close: 600.2,
  volume: 1200,
  tradeCount: 31,
  vwap: 600.21,
  revision: 0,
  source: 'live',
  feed: 'iex',
  receivedAt: '2026-11-27T15:32:00.040Z',
} as const;
