import { Bar, type BarSource, type Feed, isoMemo } from '@vigil/contracts';
import * as z from 'zod';
import type { WireBar } from './alpaca-messages.js';

// A frame's bars share their minute and their receipt time.
const startIso = isoMemo();
const receivedIso = isoMemo();

/** Alpaca's wire bar as a Vigil `Bar`. Alpaca omits `vw` on some feeds; the close stands in for it then. */
export function toBar(wire: WireBar, symbol: string, source: BarSource, feed: Feed, receivedAt: Date): Bar {
  return {
    v: 1,
    symbol,
    t: startIso(wire.t),
    open: wire.o,
    high: wire.h,
    low: wire.l,
    close: wire.c,
    volume: wire.v,
    tradeCount: wire.n,
    vwap: wire.vw ?? wire.c,
    revision: 0,
    source,
    feed,
    receivedAt: receivedIso(receivedAt.getTime()),
  };
}

/**
 * `toBar`, checked against the contract (a whole-minute start, low <= open/close <= high) here at the edge: a
 * bar that would be refused when published must not reach the publisher, where it would block its symbol.
 */
export function barFromWire(
  wire: WireBar,
  symbol: string,
  source: BarSource,
  feed: Feed,
  receivedAt: Date,
): { ok: true; bar: Bar } | { ok: false; error: string } {
  const parsed = Bar.safeParse(toBar(wire, symbol, source, feed, receivedAt));
  return parsed.success
    ? { ok: true, bar: parsed.data }
    : { ok: false, error: z.prettifyError(parsed.error).replace(/\n\s*/g, ' ') };
}

/** Report a bar that is not a valid bar: logged with what is wrong, counted by source, then dropped. */
export type RejectBar = (symbol: string, source: BarSource, wire: unknown, error: string) => void;
