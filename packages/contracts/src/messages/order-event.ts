import * as z from 'zod';
import { isoInstant, schemaVersion, symbol } from '../primitives.js';
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
]);
export type OrderEventKind = z.infer<typeof OrderEventKind>;

export const OrderEvent = z.strictObject({
  v: schemaVersion,
  event: OrderEventKind,
  signalId: z.string().nullable(),
  clientOrderId: z.string().nullable(),
  orderId: z.string().nullable(),
  symbol,
  side: Side,
  qty: z.number().nonnegative(),
  filledQty: z.number().nonnegative().nullable(),
  filledAvgPrice: z.number().positive().nullable(),
  /** Why it was rejected, skipped or failed; empty for ordinary progress. */
  reason: z.string(),
  at: isoInstant,
});
export type OrderEvent = z.infer<typeof OrderEvent>;
