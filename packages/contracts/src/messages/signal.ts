import * as z from 'zod';
import { isoInstant, schemaVersion, symbol, token } from '../primitives.js';
import { BarSource } from './bar.js';

export const Side = z.enum(['buy', 'sell']);
export type Side = z.infer<typeof Side>;

export const Signal = z.strictObject({
  v: schemaVersion,
  /** Deterministic: the same strategy, symbol and bar always give the same id (see `signalId`). */
  id: z.string().regex(/^[a-z0-9_-]+:[A-Z0-9.]+:\d{8}T\d{4}Z$/, {
    error: 'expected <strategy>:<SYMBOL>:<yyyymmddThhmmZ>',
  }),
  strategy: token,
  symbol,
  side: Side,
  qty: z.int().positive(),
  /** Start of the bar that produced the signal. */
  barT: isoInstant,
  /** How that bar reached the bus: a fresh polled or backfilled bar trades like a live one. */
  barSource: BarSource,
  price: z.number().positive(),
  reason: z.string().min(1),
  inputs: z.record(z.string(), z.number()),
  createdAt: isoInstant,
});
export type Signal = z.infer<typeof Signal>;

/** `ma_cross:SPY:20261127T1431Z`: also the broker's client_order_id, so a redelivered signal cannot trade twice. */
export function signalId(strategy: string, sym: string, barT: string): string {
  const compact = new Date(barT).toISOString().replace(/[-:]/g, '').slice(0, 13);
  return `${strategy}:${sym}:${compact}Z`;
}
