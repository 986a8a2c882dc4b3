import * as z from 'zod';
import { isoInstant, schemaVersion, symbol } from '../primitives.js';
import { BarSource } from './bar.js';
import { Side } from './signal.js';

/** Every order state change the executor sees or decides; also the `<event>` token of `executor.orders.<event>`. */
export const OrderEventKind = z.enum([
  'submitted',
  'accepted',
  'partially_filled',
  'filled',
  'canceled',
  'expired',
  'rejected',
  'skipped',
  'failed',
  /** Not about one order: the executor halted itself (no new orders); `reason` says why. */
  'halted',
]);
export type OrderEventKind = z.infer<typeof OrderEventKind>;

export const OrderEvent = z
  .strictObject({
    v: schemaVersion,
    event: OrderEventKind,
    signalId: z.string().nullable(),
    clientOrderId: z.string().nullable(),
    orderId: z.string().nullable(),
    /** Null only for `halted`, which is about the whole executor, not one symbol (its qty is 0). */
    symbol: symbol.nullable(),
    side: Side.nullable(),
    qty: z.number().nonnegative(),
    filledQty: z.number().nonnegative().nullable(),
    filledAvgPrice: z.number().positive().nullable(),
    /** How the bar behind the order's signal reached the bus; null for orders no signal asked for (a flatten). */
    barSource: BarSource.nullable(),
    /** Why it was rejected, skipped or failed; empty for ordinary progress. */
    reason: z.string(),
    at: isoInstant,
  })
  .refine((e) => (e.event === 'halted' ? e.symbol === null && e.side === null : e.symbol !== null && e.side !== null), {
    error: 'symbol and side are null for a halted event, and only for it',
    path: ['symbol'],
  });
export type OrderEvent = z.infer<typeof OrderEvent>;
