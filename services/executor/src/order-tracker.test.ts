// The interleavings here (a risk check while a positions read is still on the wire, two reads answered in the
// reverse of the order they were sent) cannot be produced on cue by the simulator, so the broker's orders and
// positions APIs are faked; the tracker, the broker-call wrapper and the logger are the real ones.
import type { trading } from '@alpacahq/alpaca-trade-api';
import { Metrics } from '@vigil/service-kit';
import { captureLogger } from '@vigil/service-kit/testing';
import { expect, it } from 'vitest';
import { brokerCaller } from './broker-call.js';
import { OrderTracker } from './order-tracker.js';

const order = (id: string, qty: number, filledQty: number, status: string) =>
  ({
    id,
    clientOrderId: `c-${id}`,
    symbol: 'SPY',
    side: 'buy',
    qty: String(qty),
    filledQty: String(filledQty),
    status,
  }) as unknown as trading.Order;
const holding = (qty: number) => [{ symbol: 'SPY', qty: String(qty), side: 'long' }] as unknown as trading.Position[];

/** A tracker over a fake broker whose positions reads answer only when the test says so. */
function book() {
  const { logger, lines } = captureLogger();
  const metrics = new Metrics('executor', { defaultMetrics: false });
  const call = brokerCaller({ policy: { initialMs: 1, maxMs: 1 }, maxAttempts: 1, logger, metrics });
  const orders = new Map<string, trading.Order>();
  const reads: { answer: (p: trading.Position[]) => void; fail: () => void }[] = [];
  const tracker = new OrderTracker({
    orders: {
      getAllOrders: async ({ status }: { status: string }) =>
        [...orders.values()].filter(
          (o) => status === 'all' || !['filled', 'canceled', 'expired', 'rejected'].includes(o.status!),
        ),
      getOrderByOrderID: async ({ orderId }: { orderId: string }) => orders.get(orderId)!,
    } as never,
    positions: {
      getAllOpenPositions: () =>
        new Promise<trading.Position[]>((resolve, reject) =>
          reads.push({ answer: resolve, fail: () => reject(new Error('socket hang up')) }),
        ),
    },
    call,
    publish: async () => {},
    logger,
    metrics,
  });
  const readsSent = async (n: number) => {
    for (let i = 0; i < 100 && reads.length < n; i++) await new Promise((r) => setImmediate(r));
    expect(reads).toHaveLength(n);
  };
  return { tracker, orders, reads, readsSent, lines };
}

it('keeps a fill in the exposure from the moment the order is seen filled until a positions read includes it', async () => {
  const { tracker, orders, reads, readsSent } = book();
  orders.set('o-1', order('o-1', 60, 0, 'new'));
  await tracker.track(orders.get('o-1')!, { signalId: null, barSource: null, announce: false });
  expect(tracker.exposure('SPY')).toBe(60);

  orders.set('o-1', order('o-1', 60, 60, 'filled'));
  const polled = tracker.poll();
  await readsSent(1);
  // The order has left the open orders and the positions read is still on the wire: a signal decided now
  // must still see the 60 shares.
  expect(tracker.openOrders()).toHaveLength(0);
  expect(tracker.exposure('SPY')).toBe(60);

  reads[0]!.answer(holding(60));
  await polled;
  expect(tracker.exposure('SPY')).toBe(60); // the read replaced the fill, not added to it
});

it('keeps a partial fill in the exposure while the positions read is on the wire', async () => {
  const { tracker, orders, reads, readsSent } = book();
  orders.set('o-1', order('o-1', 60, 0, 'new'));
  await tracker.track(orders.get('o-1')!, { signalId: null, barSource: null, announce: false });
  orders.set('o-1', order('o-1', 60, 25, 'partially_filled'));
  const polled = tracker.poll();
  await readsSent(1);
  expect(tracker.exposure('SPY')).toBe(60);
  reads[0]!.answer(holding(25));
  await polled;
  expect(tracker.exposure('SPY')).toBe(60);
});

it('keeps counting a fill whose positions read failed, and takes the broker as truth, without drift, once a read succeeds', async () => {
  const { tracker, orders, reads, readsSent, lines } = book();
  const started = tracker.reconcile();
  await readsSent(1);
  reads[0]!.answer([]);
  await started;
  orders.set('o-1', order('o-1', 60, 0, 'new'));
  await tracker.track(orders.get('o-1')!, { signalId: null, barSource: null, announce: false });
  orders.set('o-1', order('o-1', 60, 60, 'filled'));
  const polled = tracker.poll();
  await readsSent(2);
  reads[1]!.fail();
  await expect(polled).rejects.toThrow(/list positions/);
  expect(tracker.exposure('SPY')).toBe(60);

  const reconciled = tracker.reconcile();
  await readsSent(3);
  reads[2]!.answer(holding(60));
  await reconciled;
  expect(tracker.exposure('SPY')).toBe(60);
  expect(
    lines().some((l) => l.msg === 'position differs from what the executor knew; taking the broker as truth'),
  ).toBe(false);
});

it('never lets a positions read sent before a fill was seen overwrite one sent after it', async () => {
  const { tracker, orders, reads, readsSent } = book();
  orders.set('o-1', order('o-1', 10, 0, 'new'));
  await tracker.track(orders.get('o-1')!, { signalId: null, barSource: null, announce: false });
  orders.set('o-1', order('o-1', 10, 10, 'filled'));
  const polled = tracker.poll(); // read A: sent after o-1's fill was seen, before o-2 existed
  await readsSent(1);

  // o-2 is placed and comes back already filled; its own read B goes out while A is still on the wire.
  const o2 = order('o-2', 20, 20, 'filled');
  orders.set('o-2', o2);
  const tracked = tracker.track(o2, { signalId: null, barSource: null, announce: false });
  await readsSent(2);
  reads[1]!.answer(holding(30)); // B answers first, with both fills
  await tracked;
  reads[0]!.answer(holding(10)); // A answers last, without o-2
  await polled;
  expect(tracker.exposure('SPY')).toBe(30);
});

it('keeps an order event JetStream did not acknowledge and sends it on the next poll, advancing only on the ack', async () => {
  const { logger, lines } = captureLogger();
  const metrics = new Metrics('executor', { defaultMetrics: false });
  const call = brokerCaller({ policy: { initialMs: 1, maxMs: 1 }, maxAttempts: 1, logger, metrics });
  const orders = new Map<string, trading.Order>();
  let down = true;
  const published: string[] = [];
  const tracker = new OrderTracker({
    orders: {
      getAllOrders: async () => [...orders.values()],
      getOrderByOrderID: async ({ orderId }: { orderId: string }) => orders.get(orderId)!,
    } as never,
    positions: { getAllOpenPositions: async () => holding(0) },
    call,
    publish: async (e) => {
      if (down) throw new Error('TimeoutError: timeout');
      published.push(`${e.event}:${e.filledQty ?? 0}`);
    },
    logger,
    metrics,
  });
  orders.set('o-1', order('o-1', 10, 0, 'new'));
  await tracker.track(orders.get('o-1')!, { signalId: 's-1', barSource: 'poll', announce: true });
  expect(published).toEqual([]); // JetStream down: nothing acknowledged, nothing thrown at the signal path

  orders.set('o-1', order('o-1', 10, 10, 'filled'));
  await tracker.poll(); // still down: the fill is counted for risk, its event kept
  expect(tracker.openOrders()).toHaveLength(0);
  expect(published).toEqual([]);

  down = false;
  await tracker.poll(); // the finished order is still in the outbox
  expect(published).toEqual(['submitted:0', 'filled:10']);
  await tracker.poll();
  expect(published).toHaveLength(2); // acknowledged once, not again
  expect(
    lines().filter((l) => l.msg === 'order event not acknowledged by JetStream; kept and retried on every poll'),
  ).toHaveLength(1);
  expect(await metrics.registry.getSingleMetricAsString('vigil_executor_order_event_publish_failures_total')).toMatch(
    /} 3$/m,
  ); // track, and the two tries of the poll while down
});
