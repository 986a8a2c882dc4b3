import * as z from 'zod';

/** What the simulated Alpaca takes as a US equity symbol: capitals, digits and dots (`BRK.B`), 1 to 16. */
export const SYMBOL_PATTERN = /^[A-Z][A-Z0-9.]{0,15}$/;

export const symbolSchema = z.string().regex(SYMBOL_PATTERN, { error: 'invalid symbol' });

/** A stream subscription names symbols or `*` (all). */
export const subscribedSymbol = z
  .string()
  .refine((s) => s === '*' || SYMBOL_PATTERN.test(s), { error: 'invalid symbol' });
