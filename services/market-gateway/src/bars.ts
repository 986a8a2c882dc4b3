import type { Bar, BarSource, Feed } from '@vigil/contracts';
import type { WireBar } from './alpaca-messages.js';

/** Alpaca's wire bar as a Vigil `Bar`. Alpaca omits `vw` on some feeds; the close stands in for it then. */
export function toBar(wire: WireBar, symbol: string, source: BarSource, feed: Feed, receivedAt: Date, revision = 0): Bar {
  return {
    v: 1,
    symbol,
    t: new Date(wire.t).toISOString(),
    open: wire.o,
    high: wire.h,
    low: wire.l,
    close: wire.c,
    volume: wire.v,
    tradeCount: wire.n,
    vwap: wire.vw ?? wire.c,
    revision,
    source,
    feed,
    receivedAt: receivedAt.toISOString(),
  };
}
