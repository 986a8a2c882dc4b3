import * as z from 'zod';

/** A minute bar as Alpaca sends it, on the stream (`T: b|u`) and in REST bodies. `t` is the minute's start. */
export const WireBar = z.object({
  o: z.number().positive(),
  h: z.number().positive(),
  l: z.number().positive(),
  c: z.number().positive(),
  v: z.number().int().nonnegative(),
  t: z.iso.datetime({ offset: true }),
  n: z.number().int().nonnegative().default(0),
  vw: z.number().positive().optional(),
});
export type WireBar = z.infer<typeof WireBar>;

const symbol = z.string().min(1).max(12);

const StreamBar = WireBar.extend({ T: z.enum(['b', 'u']), S: symbol });
const Success = z.object({ T: z.literal('success'), msg: z.string() });
const ErrorMsg = z.object({ T: z.literal('error'), code: z.number().int(), msg: z.string().default('') });
/** Alpaca may omit channels it does not use (see the reference notes), so every list is optional. */
const Subscription = z.object({
  T: z.literal('subscription'),
  trades: z.array(z.string()).optional(),
  quotes: z.array(z.string()).optional(),
  bars: z.array(z.string()).optional(),
  updatedBars: z.array(z.string()).optional(),
  dailyBars: z.array(z.string()).optional(),
  statuses: z.array(z.string()).optional(),
});
/** Trades and quotes only matter as evidence that data flows; their symbol is all we read. */
const OtherData = z.object({ T: z.enum(['t', 'q', 'd', 's', 'l', 'c', 'x', 'i']), S: symbol });

export const StreamMessage = z.discriminatedUnion('T', [StreamBar, Success, ErrorMsg, Subscription, OtherData]);
export type StreamMessage = z.infer<typeof StreamMessage>;
export type StreamSubscription = z.infer<typeof Subscription>;

/** The REST bars response (`GET /v2/stocks/bars`). */
export const BarsPage = z.object({
  // Each bar is validated on its own (rest-bars.ts): one malformed bar must not sink the page, and with it the
  // backfill that live bars wait behind.
  bars: z.record(z.string(), z.array(z.unknown()).nullable()).nullable().default({}),
  next_page_token: z.string().nullable().optional(),
});
export type BarsPage = z.infer<typeof BarsPage>;

export interface ParsedFrame {
  messages: StreamMessage[];
  /** One readable line per element that failed validation; the rest of the frame is still used. */
  invalid: string[];
}

/** Parse one text frame: a JSON array of messages. Bad elements are reported, good ones kept. */
export function parseFrame(text: string): ParsedFrame {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { messages: [], invalid: [`frame is not JSON (${(err as Error).message}): ${text.slice(0, 120)}`] };
  }
  const items = Array.isArray(raw) ? raw : [raw];
  const messages: StreamMessage[] = [];
  const invalid: string[] = [];
  for (const item of items) {
    const parsed = StreamMessage.safeParse(item);
    if (parsed.success) messages.push(parsed.data);
    else
      invalid.push(`${z.prettifyError(parsed.error).replace(/\n\s*/g, ' ')} in ${JSON.stringify(item).slice(0, 160)}`);
  }
  return { messages, invalid };
}
