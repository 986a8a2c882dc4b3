import { describe, expect, it } from 'vitest';
import { applySubscription, clientMessage, emptySubscriptions, isSubscribed, subscriptionFrame } from './protocol.js';

describe('stream protocol', () => {
  it('adds and removes per channel and mirrors trades into corrections and cancelErrors', () => {
    let subs = applySubscription(emptySubscriptions(), 'subscribe', { trades: ['SPY'], bars: ['*'] });
    subs = applySubscription(subs, 'subscribe', { bars: ['AAPL'], quotes: ['AMD'] });
    expect(subs.corrections).toEqual(['SPY']);
    expect(isSubscribed(subs, 'bars', 'MSFT')).toBe(true);
    subs = applySubscription(subs, 'unsubscribe', { bars: ['*'], trades: ['SPY'] });
    expect(subs.bars).toEqual(['AAPL']);
    expect(subs.cancelErrors).toEqual([]);
    expect(subscriptionFrame(subs, new Set(['AAPL']))).toMatchObject({
      T: 'subscription',
      bars: [],
      quotes: ['AMD'],
      trades: [],
    });
  });

  it('rejects unknown actions, bad symbols and missing credentials', () => {
    expect(clientMessage.safeParse({ action: 'listen' }).success).toBe(false);
    expect(clientMessage.safeParse({ action: 'subscribe', bars: ['spy'] }).success).toBe(false);
    expect(clientMessage.safeParse({ action: 'subscribe', bars: 'SPY' }).success).toBe(false);
    expect(clientMessage.safeParse({ action: 'auth', key: 'k' }).success).toBe(false);
    expect(clientMessage.safeParse({ action: 'subscribe', bars: ['BRK.B'], imbalances: [] }).success).toBe(true);
  });
});
