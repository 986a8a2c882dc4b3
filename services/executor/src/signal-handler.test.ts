// The broker answering 422 "client_order_id must be unique" to a POST needs an order the broker took while
// our earlier POST timed out, and a signal going stale exactly while a 429 is waited out needs the clock to
// move on cue: the simulator cannot produce either race, so the orders API and the clock are faked here.
import { RateLimitError, ValidationError, type trading } from '@alpacahq/alpaca-trade-api';
import { encode, Signal, signalSubject } from '@vigil/contracts';
import { Metrics } from '@vigil/service-kit';
import { captureLogger } from '@vigil/service-kit/testing';
import { expect, it } from 'vitest';
import { brokerCaller } from './broker-call.js';
import type { OrderEventInput } from './order-events.js';
import { OrderTracker } from './order-tracker.js';
import { ReadWriteLock } from './read-write-lock.js';
import { createSignalHandler } from './signal-handler.js';

/** A buy signal on the 14:30 SPY bar, which ended at 14:31:00. */
const signal: Signal = {
  v: 1,
  id: 'ma_cross:SPY:20261127T1430Z',
  strategy: 'ma_cross',
  symbol: 'SPY',
  side: 'buy',
  qty: 2,
  barT: '2026-11-27T14:30:00Z',
  barSource: 'live',
  price: 100,
  reason: 'test',
  inputs: {},
  createdAt: '2026-11-27T14:31:01Z',
};

it('sends a first delivery straight to the broker, counts a 422 duplicate client_order_id as placed, and tracks the existing order', async () => {
  const { logger, lines } = captureLogger();
  const metrics = new Metrics('executor', { defaultMetrics: false });
  const call = brokerCaller({ policy: { initialMs: 1, maxMs: 1 }, maxAttempts: 1, logger, metrics });
  const existing = {
    id: 'o-1',
    clientOrderId: 'ma_cross:SPY:20261127T1430Z',
    symbol: 'SPY',
    side: 'buy',
    qty: '2',
    filledQty: '0',
    status: 'new',
  } as unknown as trading.Order;
  let lookups = 0;
  const orders = {
    getOrderByClientOrderId: async () => {
      lookups += 1;
      return existing;
    },
    postOrder: async () => {
      throw new ValidationError(new Response(null, { status: 422 }), 422, 40010001, 'client_order_id must be unique');
    },
  };
  const published: OrderEventInput[] = [];
  const publish = async (e: OrderEventInput) => void published.push(e);
  const tracker = new OrderTracker({ orders: {} as never, positions: {} as never, call, publish, logger, metrics });
  const handle = createSignalHandler({
    orders,
    call,
    tracker,
    halt: () => ({ halted: false, since: null, reason: null, incidentId: null, by: null, flattened: false }),
    placing: (fn) => fn(),
    publish,
    brokerNow: () => Date.parse('2026-11-27T14:31:05Z'),
    market: () => ({ phase: 'open', nextCloseMs: Date.parse('2026-11-27T18:00:00Z') }),
    limits: { maxPositionQty: 10, maxOrderNotional: 10_000, maxOrdersPerMinute: 10, maxSignalAgeMs: 60_000 },
    symbols: ['SPY'],
    allowShort: false,
    timeInForce: 'day',
    redelivery: { initialMs: 1, maxMs: 1 },
    logger,
    metrics,
  });
  const disposition = await handle({ subject: signalSubject('SPY'), data: encode(Signal, signal), deliveryCount: 1 });
  expect(disposition).toBe('ack');
  expect(published).toEqual([]);
  expect(tracker.knows(signal.id)).toBe(true);
  expect(tracker.exposure('SPY')).toBe(2);
  expect(
    lines().some((l) => l.msg === 'broker already had this order (client_order_id in use); counted as placed'),
  ).toBe(true);
  // One lookup, after the 422: a first delivery spends no request of the 200-a-minute budget on a pre-check.
  expect(lookups).toBe(1);
});

it('checks the signal again before a retried POST: one that went stale waiting out a 429 is rejected, not placed', async () => {
  const { logger } = captureLogger();
  const metrics = new Metrics('executor', { defaultMetrics: false });
  // Broker time moves on only while the retry waits: 30 s after the bar ended at first, 90 s after the wait.
  let brokerNow = Date.parse('2026-11-27T14:31:30Z');
  const call = brokerCaller({
    policy: { initialMs: 1, maxMs: 1 },
    maxAttempts: 4,
    logger,
    metrics,
    sleep: async () => {
      brokerNow += 60_000;
    },
  });
  let posts = 0;
  const orders = {
    getOrderByClientOrderId: async () => {
      throw new Error('a first delivery must not look the order up');
    },
    postOrder: async (): Promise<trading.Order> => {
      posts += 1;
      throw new RateLimitError(
        new Response(null, { status: 429 }),
        429,
        undefined,
        'rate limit exceeded',
        undefined,
        1_000,
        undefined,
      );
    },
  };
  const published: OrderEventInput[] = [];
  const publish = async (e: OrderEventInput) => void published.push(e);
  const tracker = new OrderTracker({ orders: {} as never, positions: {} as never, call, publish, logger, metrics });
  const handle = createSignalHandler({
    orders,
    call,
    tracker,
    halt: () => ({ halted: false, since: null, reason: null, incidentId: null, by: null, flattened: false }),
    placing: (fn) => fn(),
    publish,
    brokerNow: () => brokerNow,
    market: () => ({ phase: 'open', nextCloseMs: Date.parse('2026-11-27T18:00:00Z') }),
    limits: { maxPositionQty: 10, maxOrderNotional: 10_000, maxOrdersPerMinute: 10, maxSignalAgeMs: 60_000 },
    symbols: ['SPY'],
    allowShort: false,
    timeInForce: 'day',
    redelivery: { initialMs: 1, maxMs: 1 },
    logger,
    metrics,
  });
  const disposition = await handle({ subject: signalSubject('SPY'), data: encode(Signal, signal), deliveryCount: 1 });
  expect(disposition).toBe('ack');
  expect(posts).toBe(1);
  expect(published).toHaveLength(1);
  expect(published[0]).toMatchObject({ event: 'rejected', signalId: signal.id });
  expect(published[0]!.reason).toMatch(/signal bar ended 90000 ms ago, over MAX_SIGNAL_AGE_MS 60000/);
});

it("releases the order lock before the order's events: the next signal's order does not wait for JetStream", async () => {
  const { logger } = captureLogger();
  const metrics = new Metrics('executor', { defaultMetrics: false });
  const call = brokerCaller({ policy: { initialMs: 1, maxMs: 1 }, maxAttempts: 1, logger, metrics });
  const posted: string[] = [];
  const orders = {
    getOrderByClientOrderId: async () => {
      throw new Error('not called on a first delivery');
    },
    postOrder: async ({ postOrderRequest: r }: { postOrderRequest: trading.PostOrderRequest }) => {
      posted.push(r.symbol ?? '');
      return {
        id: `o-${r.symbol}`,
        clientOrderId: r.clientOrderId,
        symbol: r.symbol,
        side: r.side,
        qty: r.qty,
        filledQty: '0',
        status: 'new',
      } as unknown as trading.Order;
    },
  };
  // JetStream holds every order event until released.
  let release = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  const published: string[] = [];
  const publish = async (e: OrderEventInput) => {
    await held;
    published.push(`${e.event} ${e.symbol}`);
  };
  const tracker = new OrderTracker({ orders: {} as never, positions: {} as never, call, publish, logger, metrics });
  // The flattener's lock, as the executor holds it to place orders.
  const lock = new ReadWriteLock();
  const handle = createSignalHandler({
    orders,
    call,
    tracker,
    halt: () => ({ halted: false, since: null, reason: null, incidentId: null, by: null, flattened: false }),
    placing: (fn) => lock.read(fn),
    publish,
    brokerNow: () => Date.parse('2026-11-27T14:31:05Z'),
    market: () => ({ phase: 'open', nextCloseMs: Date.parse('2026-11-27T18:00:00Z') }),
    limits: { maxPositionQty: 10, maxOrderNotional: 10_000, maxOrdersPerMinute: 10, maxSignalAgeMs: 60_000 },
    symbols: ['SPY', 'AAPL'],
    allowShort: false,
    timeInForce: 'day',
    redelivery: { initialMs: 1, maxMs: 1 },
    logger,
    metrics,
  });
  const aapl = { ...signal, id: 'ma_cross:AAPL:20261127T1430Z', symbol: 'AAPL' };
  let firstDone = false;
  const first = handle({ subject: signalSubject('SPY'), data: encode(Signal, signal), deliveryCount: 1 }).then((d) => {
    firstDone = true;
    return d;
  });
  const second = handle({ subject: signalSubject('AAPL'), data: encode(Signal, aapl), deliveryCount: 1 });
  await new Promise((r) => setTimeout(r, 20));
  // Both orders are at the broker and in the book; neither signal is acknowledged before its event is.
  expect(posted).toEqual(['SPY', 'AAPL']);
  expect(tracker.exposure('SPY')).toBe(2);
  expect(firstDone).toBe(false);
  release();
  expect(await first).toBe('ack');
  expect(await second).toBe('ack');
  expect(published.filter((e) => e.startsWith('submitted'))).toEqual(['submitted SPY', 'submitted AAPL']);
});
