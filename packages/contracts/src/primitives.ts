import * as z from 'zod';

/** Every message carries this; bump it (and accept both) when a message changes incompatibly. */
export const SCHEMA_VERSION = 1 as const;
export const schemaVersion = z.literal(SCHEMA_VERSION);

/** ISO-8601 UTC instant with a `Z` suffix, e.g. `2026-11-27T14:31:00Z`. */
export const isoInstant = z.iso.datetime({ error: 'expected an ISO-8601 UTC timestamp ending in Z' });

/** One market minute: bars start on it, and every per-minute figure counts in it. */
export const MINUTE_MS = 60_000;

/** A US equity ticker as Alpaca spells it (`SPY`, `BRK.B`): the one pattern every check uses. */
export const TICKER_PATTERN = /^[A-Z][A-Z0-9.]{0,9}$/;

/** US equity ticker as Alpaca spells it (`SPY`, `BRK.B`). */
export const symbol = z.string().regex(TICKER_PATTERN, { error: 'expected an upper-case ticker such as SPY or BRK.B' });

/** A service or instance name usable as one NATS subject token. */
export const token = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, {
  error: 'expected a lower-case name of letters, digits, "-" or "_"',
});

export const nonNegativeInt = z.int().nonnegative();
export const positiveNumber = z.number().positive();

export type Instant = z.infer<typeof isoInstant>;
