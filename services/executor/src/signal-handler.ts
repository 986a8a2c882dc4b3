import type { trading } from '@alpacahq/alpaca-trade-api';
import { barEnd, decodeOn, Signal, type ExecutorHaltState } from '@vigil/contracts';
import { retryDelay, type BackoffPolicy, type Disposition, type Logger, type Metrics } from '@vigil/service-kit';
import type { BrokerCall } from './broker-call.js';
import { BrokerError, CallAbandoned } from './broker-errors.js';
import type { PublishOrderEvent } from './order-events.js';
import type { OrderTracker } from './order-tracker.js';
import {
  checkMarketHours,
  checkRisk,
  checkSymbol,
  ordersInLastMinute,
  sizeOrder,
  type MarketView,
  type RiskLimits,
  type RiskVerdict,
} from './risk.js';

export interface SignalHandlerDeps {
  orders: Pick<trading.OrdersApi, 'postOrder' | 'getOrderByClientOrderId'>;
  call: BrokerCall;
  tracker: OrderTracker;
  halt: () => ExecutorHaltState;
  /**
   * Runs the decision and the order with flattens kept out (Flattener.placing). Placements may overlap: the
   * caller keeps one symbol's signals in order, and the rate window counts orders still on their way.
   */
  placing: <T>(fn: () => Promise<T>) => Promise<T>;
  publish: PublishOrderEvent;
  /** Broker time in epoch ms (MarketClock), or null before the first clock read. */
  brokerNow: () => number | null;
  /** Market phase and next close by the broker's clock (MarketClock): orders go out only while open. */
  market: () => MarketView;
  limits: RiskLimits;
  /** The symbols that may be traded (SYMBOLS). */
  symbols: readonly string[];
  /** ALLOW_SHORT: false sends a sell only against shares held, cut to them (`sizeOrder`). */
  allowShort: boolean;
  /** Send times (broker ms) of the orders placed before this process started, from KV: the rate window's start. */
  recentOrders?: readonly number[];
  /** Keeps the rate window across restarts (KV `rate.sent`); called after each order placed. */
  saveRecentOrders?: (times: readonly number[]) => Promise<void>;
  timeInForce: 'day' | 'gtc';
  /** Told of each order placed at the broker (the figure in its health report). */
  onPlaced?: () => void;
  /** How long to wait before a signal that hit a broker outage is delivered again. */
  redelivery: BackoffPolicy;
  logger: Logger;
  metrics: Metrics;
}

export interface IncomingSignal {
  subject: string;
  data: Uint8Array;
  deliveryCount: number;
}

/** A risk limit failed between attempts to send an order: stop the call, reject the signal. */
class RiskRefused extends CallAbandoned {
  constructor(readonly verdict: Extract<RiskVerdict, { ok: false }>) {
    super(verdict.reason);
  }
}

/** The executor was halted between attempts to send an order: stop the call, skip the signal. */
class HaltedMeanwhile extends CallAbandoned {
  constructor(readonly halt: ExecutorHaltState) {
    super(`executor halted since ${halt.since}: ${halt.reason}`);
  }
}

/**
 * One signal → at most one order. The order's client_order_id is the signal id, so however often a signal is
 * delivered (redelivery, restart, a second copy) the broker holds one order for it: a redelivery looks for it
 * first, and a 422 "client_order_id must be unique" on submit means it exists and counts as success.
 */
export function createSignalHandler(deps: SignalHandlerDeps): (msg: IncomingSignal) => Promise<Disposition> {
  const log = deps.logger.child({ component: 'signals' });
  const outcomes = deps.metrics.counter('executor_signals_total', 'Signals handled, by outcome', ['outcome']);
  const sentAt: number[] = [...(deps.recentOrders ?? [])];
  /** Orders on their way to the broker, by signal id, with their send time: the rate window counts them too. */
  const sending = new Map<string, number>();
  const windowFor = (signalId: string): number[] => {
    const others = [...sending].filter(([id]) => id !== signalId).map(([, t]) => t);
    return others.length ? [...sentAt, ...others] : sentAt;
  };
  const windowSaveFailures = deps.metrics.counter(
    'executor_order_window_save_failures_total',
    'Orders-per-minute window writes to KV that failed (the window may restart short after a restart)',
  );

  const existing = async (signal: Signal): Promise<trading.Order | 'tracked' | null> => {
    if (deps.tracker.knows(signal.id)) return 'tracked';
    try {
      return await deps.call('find order by client id', () =>
        deps.orders.getOrderByClientOrderId({ clientOrderId: signal.id }),
      );
    } catch (err) {
      if (err instanceof BrokerError && err.failure.kind === 'not_found') return null;
      throw err;
    }
  };

  const event = (signal: Signal, e: 'skipped' | 'rejected' | 'failed', reason: string) =>
    deps.publish({
      event: e,
      symbol: signal.symbol,
      side: signal.side,
      qty: signal.qty,
      signalId: signal.id,
      clientOrderId: signal.id,
      barSource: signal.barSource,
      reason,
    });

  return async (msg) => {
    const decoded = decodeOn(Signal, msg.subject, msg.data);
    if (!decoded.ok) {
      outcomes.inc({ outcome: 'malformed' });
      log.error(
        { subject: msg.subject, err: decoded.error },
        'malformed signal; dropping it (terminated, never redelivered)',
      );
      return 'term';
    }
    const signal = decoded.value;
    // What flattens need not wait for (the order's events, the positions re-read, the rate window's write) runs
    // after the lock is released and before the ack.
    const afterwards: Array<() => Promise<void>> = [];
    const disposition = await deps.placing(() => place(signal, msg.deliveryCount, afterwards));
    for (const step of afterwards) await step();
    return disposition;
  };

  async function reject(signal: Signal, verdict: Extract<RiskVerdict, { ok: false }>): Promise<Disposition> {
    outcomes.inc({ outcome: `rejected_${verdict.rule}` });
    await event(signal, 'rejected', verdict.reason);
    return 'ack';
  }

  async function skip(signal: Signal, halt: ExecutorHaltState): Promise<Disposition> {
    outcomes.inc({ outcome: 'skipped' });
    await event(signal, 'skipped', `executor halted since ${halt.since}: ${halt.reason}`);
    return 'ack';
  }

  async function place(
    signal: Signal,
    deliveryCount: number,
    afterwards: Array<() => Promise<void>>,
  ): Promise<Disposition> {
    const ctx = {
      signalId: signal.id,
      symbol: signal.symbol,
      side: signal.side,
      qty: signal.qty,
      barSource: signal.barSource,
      deliveryCount,
    };
    const halt = deps.halt();
    if (halt.halted) return skip(signal, halt);
    try {
      // Only a redelivery can find its order already placed (an executor that crashed before acking). A first
      // delivery skips the lookup: Alpaca's budget is 200 requests a minute, and the POST's duplicate answer
      // still catches anything else.
      const found = deliveryCount > 1 ? await existing(signal) : deps.tracker.knows(signal.id) ? 'tracked' : null;
      if (found) {
        outcomes.inc({ outcome: 'duplicate' });
        if (found !== 'tracked')
          await deps.tracker.track(found, { signalId: signal.id, barSource: signal.barSource, announce: false });
        log.info(ctx, 'signal already has an order at the broker; nothing sent');
        return 'ack';
      }

      // Halt and limits are checked before every attempt to send, not once: a POST retried after a 429 or a
      // 5xx must still pass, and a halt acknowledged while the retry waited must stop it.
      const barEndMs = barEnd({ t: signal.barT }).getTime();
      const verdictNow = (): { nowMs: number; verdict: RiskVerdict; qty: number } => {
        const brokerNow = deps.brokerNow();
        const nowMs = brokerNow ?? Date.now();
        const listed = checkSymbol(signal.symbol, deps.symbols);
        if (!listed.ok) return { nowMs, verdict: listed, qty: signal.qty };
        const hours = checkMarketHours(deps.market(), barEndMs);
        if (!hours.ok) return { nowMs, verdict: hours, qty: signal.qty };
        const book = deps.tracker.book(signal.symbol);
        const sized = sizeOrder(signal.side, signal.qty, book, deps.allowShort);
        if (!sized.ok) return { nowMs, verdict: sized, qty: signal.qty };
        const input = {
          side: signal.side,
          qty: sized.qty,
          price: signal.price,
          book,
          recentOrderTimes: windowFor(signal.id),
          nowMs,
          signalAgeMs: brokerNow === null ? null : brokerNow - barEndMs,
        };
        return { nowMs, verdict: checkRisk(input, deps.limits), qty: sized.qty };
      };
      let nowMs = 0;
      let qty = signal.qty;

      let order: trading.Order;
      try {
        // Retried on 429/5xx by `call`: safe for a POST only because client_order_id makes it idempotent.
        order = await deps.call('submit order', () => {
          const haltNow = deps.halt();
          if (haltNow.halted) throw new HaltedMeanwhile(haltNow);
          const attempt = verdictNow();
          if (!attempt.verdict.ok) throw new RiskRefused(attempt.verdict);
          nowMs = attempt.nowMs;
          qty = attempt.qty;
          sending.set(signal.id, nowMs);
          return deps.orders.postOrder({
            postOrderRequest: {
              symbol: signal.symbol,
              qty: String(qty),
              side: signal.side,
              type: 'market',
              timeInForce: deps.timeInForce,
              clientOrderId: signal.id,
            },
          });
        });
      } catch (err) {
        sending.delete(signal.id);
        if (err instanceof RiskRefused) return reject(signal, err.verdict);
        if (err instanceof HaltedMeanwhile) {
          log.warn({ ...ctx, halt: err.halt }, 'executor halted while the signal was being handled; order not sent');
          return skip(signal, err.halt);
        }
        if (!(err instanceof BrokerError) || err.failure.kind !== 'duplicate') throw err;
        outcomes.inc({ outcome: 'duplicate' });
        const prior = await deps.call('find order by client id', () =>
          deps.orders.getOrderByClientOrderId({ clientOrderId: signal.id }),
        );
        await deps.tracker.track(prior, { signalId: signal.id, barSource: signal.barSource, announce: false });
        log.info(
          { ...ctx, orderId: prior.id },
          'broker already had this order (client_order_id in use); counted as placed',
        );
        return 'ack';
      }
      sending.delete(signal.id);
      sentAt.push(nowMs);
      sentAt.splice(0, sentAt.length - ordersInLastMinute(sentAt, nowMs));
      outcomes.inc({ outcome: 'placed' });
      deps.onPlaced?.();
      if (qty !== signal.qty)
        log.info({ ...ctx, sent: qty }, `sell cut to the ${qty} shares held (long-only, ALLOW_SHORT=false)`);
      // In the book before the lock is released: the next risk check counts this order and its fill.
      const tracked = deps.tracker.register(order, {
        signalId: signal.id,
        barSource: signal.barSource,
        announce: true,
      });
      const window = [...sentAt];
      afterwards.push(
        // Saved after the order is placed: a crash in between forgets this one order (logged if the write fails).
        async () =>
          deps.saveRecentOrders?.(window).catch((err: unknown) => {
            windowSaveFailures.inc();
            log.error(
              { ...ctx, err },
              'order placed, but the orders-per-minute window could not be saved; a restart would not count it',
            );
          }),
        () => deps.tracker.settle(tracked),
      );
      return 'ack';
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      if (err.failure.kind === 'rejected' || err.failure.kind === 'not_found') {
        outcomes.inc({ outcome: 'rejected_by_broker' });
        await event(
          signal,
          'rejected',
          `broker rejected the order (HTTP ${err.failure.status}): ${err.failure.message}`,
        );
        return 'ack';
      }
      // Broker unreachable after all retries: report it, and have the signal delivered again later. When it
      // comes back it is either placed (same client_order_id, so never twice) or rejected as stale.
      const nakMs = retryDelay({ policy: deps.redelivery, floorMs: deps.redelivery.initialMs }, deliveryCount);
      outcomes.inc({ outcome: 'failed' });
      await event(signal, 'failed', `${err.message}; will retry in ${nakMs} ms`);
      return { nakMs };
    }
  }
}
