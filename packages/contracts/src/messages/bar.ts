import * as z from 'zod';
import { isoInstant, MINUTE_MS, nonNegativeInt, positiveNumber, schemaVersion, symbol } from '../primitives.js';

/**
 * How a bar reached the bus: the live stream, a REST backfill after a gap, REST polling during an outage, or the
 * gateway's audit of what is stored against REST (a hole no other layer filled, or a bar whose values changed).
 */
export const BarSource = z.enum(['live', 'backfill', 'poll', 'audit']);
export type BarSource = z.infer<typeof BarSource>;

export const Feed = z.enum(['iex', 'sip', 'delayed_sip', 'test']);
export type Feed = z.infer<typeof Feed>;

/** A one-minute OHLCV bar. `t` is the START of the minute, as Alpaca labels it. */
export const Bar = z
  .strictObject({
    v: schemaVersion,
    symbol,
    t: isoInstant,
    open: positiveNumber,
    high: positiveNumber,
    low: positiveNumber,
    close: positiveNumber,
    volume: nonNegativeInt,
    tradeCount: nonNegativeInt,
    vwap: positiveNumber,
    /** 0 for the bar as first emitted; each `updatedBars` correction increments it. */
    revision: nonNegativeInt,
    source: BarSource,
    feed: Feed,
    /** When the gateway received it (live) or fetched it (backfill, poll). */
    receivedAt: isoInstant,
  })
  .refine((b) => Date.parse(b.t) % MINUTE_MS === 0, { error: 'bar start must be a whole minute', path: ['t'] })
  .refine((b) => b.low <= Math.min(b.open, b.close) && b.high >= Math.max(b.open, b.close), {
    error: 'low must be <= open/close <= high',
    path: ['high'],
  });
export type Bar = z.infer<typeof Bar>;

/** End of the bar's minute: the earliest instant the bar can be complete. */
export function barEnd(bar: Pick<Bar, 't'>): Date {
  return new Date(Date.parse(bar.t) + MINUTE_MS);
}
