import type { Bar } from '@vigil/contracts';

/** A valid one-minute bar on 2026-11-27 at `hhmm` (UTC), for the ordering and publisher tests. */
export const testBar = (symbol: string, hhmm: string, source: Bar['source'] = 'live', close = 100): Bar => ({
  v: 1,
  symbol,
  t: `2026-11-27T${hhmm}:00.000Z`,
  open: 100,
  high: Math.max(100, close),
  low: Math.min(100, close),
  close,
  volume: 10,
  tradeCount: 1,
  vwap: 100,
  revision: 0,
  source,
  feed: 'iex',
  receivedAt: '2026-11-27T16:00:00.000Z',
});
