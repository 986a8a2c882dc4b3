import * as z from 'zod';
import { subscribedSymbol } from './symbol.js';

/** Channels a subscription ack lists. `corrections` and `cancelErrors` follow `trades` automatically. */
export const CHANNELS = [
  'trades',
  'quotes',
  'bars',
  'updatedBars',
  'dailyBars',
  'statuses',
  'lulds',
  'imbalances',
  'corrections',
  'cancelErrors',
] as const;
export type Channel = (typeof CHANNELS)[number];
export type Subscriptions = Record<Channel, string[]>;

/** Stream error codes and their exact messages. */
export const STREAM_ERRORS = {
  400: 'invalid syntax',
  401: 'not authenticated',
  402: 'auth failed',
  403: 'already authenticated',
  404: 'auth timeout',
  405: 'symbol limit exceeded',
  406: 'connection limit exceeded',
  407: 'slow client',
  409: 'insufficient subscription',
  500: 'internal error',
} as const;
export type StreamErrorCode = keyof typeof STREAM_ERRORS;

const symbolList = z.array(subscribedSymbol).max(10_000);

const subscribeShape = Object.fromEntries(CHANNELS.map((c) => [c, symbolList.optional()])) as Record<
  Channel,
  z.ZodOptional<typeof symbolList>
>;

export const clientMessage = z.discriminatedUnion('action', [
  z.object({ action: z.literal('auth'), key: z.string().min(1).max(256), secret: z.string().min(1).max(256) }),
  z.object({ action: z.literal('subscribe'), ...subscribeShape }),
  z.object({ action: z.literal('unsubscribe'), ...subscribeShape }),
]);
export type ClientMessage = z.infer<typeof clientMessage>;
export type SubscriptionChange = Partial<Record<Channel, string[]>>;

export function emptySubscriptions(): Subscriptions {
  return Object.fromEntries(CHANNELS.map((c) => [c, []])) as unknown as Subscriptions;
}

/** Apply a subscribe or unsubscribe message (additive / subtractive per channel, as Alpaca does). */
export function applySubscription(
  current: Subscriptions,
  action: 'subscribe' | 'unsubscribe',
  change: SubscriptionChange,
): Subscriptions {
  const next = { ...current };
  const edit = (channel: Channel, symbols: string[]) => {
    const set = new Set(next[channel]);
    for (const s of symbols) {
      if (action === 'subscribe') set.add(s);
      else set.delete(s);
    }
    next[channel] = [...set];
  };
  for (const channel of CHANNELS) {
    const symbols = change[channel];
    if (!symbols) continue;
    edit(channel, symbols);
    if (channel === 'trades') {
      edit('corrections', symbols);
      edit('cancelErrors', symbols);
    }
  }
  return next;
}

export function isSubscribed(subs: Subscriptions, channel: Channel, sym: string): boolean {
  const list = subs[channel];
  return list.includes('*') || list.includes(sym);
}

/** The `subscription` control frame; `omit` drops symbols from the ack (the partial-ack fault). */
export function subscriptionFrame(subs: Subscriptions, omit: ReadonlySet<string> = new Set()): Record<string, unknown> {
  const frame: Record<string, unknown> = { T: 'subscription' };
  for (const c of CHANNELS) frame[c] = subs[c].filter((s) => !omit.has(s));
  return frame;
}

export function errorFrame(code: StreamErrorCode): Record<string, unknown> {
  return { T: 'error', code, msg: STREAM_ERRORS[code] };
}

export function successFrame(msg: 'connected' | 'authenticated'): Record<string, unknown> {
  return { T: 'success', msg };
}
