import { jetstream } from '@nats-io/jetstream';
import {
  encode,
  OrderEvent,
  orderEventSubject,
  type BarSource,
  type OrderEventKind,
  type Side,
} from '@vigil/contracts';
import type { Logger, Metrics, NatsConnection } from '@vigil/service-kit';

export interface OrderEventInput {
  event: OrderEventKind;
  /** Null (with side) only for `halted`, about the whole executor. */
  symbol: string | null;
  side: Side | null;
  qty: number;
  signalId?: string | null;
  clientOrderId?: string | null;
  orderId?: string | null;
  filledQty?: number | null;
  filledAvgPrice?: number | null;
  reason?: string;
  /** Source of the bar behind the order's signal; null (the default) when no signal asked for the order. */
  barSource?: BarSource | null;
}

export type PublishOrderEvent = (e: OrderEventInput) => Promise<void>;

/**
 * Publish `executor.orders.<event>` into the ORDERS stream. The msgID (order or signal, event, filled qty)
 * lets the server drop the copy a restarted executor would send for a change it already announced.
 */
export function orderEventPublisher(
  nc: NatsConnection,
  logger: Logger,
  metrics: Metrics,
  now: () => number = Date.now,
): PublishOrderEvent {
  const js = jetstream(nc);
  const published = metrics.counter('executor_order_events_total', 'Order events published, by event', ['event']);
  const log = logger.child({ component: 'order-events' });
  return async (e) => {
    const event: OrderEvent = {
      v: 1,
      event: e.event,
      signalId: e.signalId ?? null,
      clientOrderId: e.clientOrderId ?? null,
      orderId: e.orderId ?? null,
      symbol: e.symbol,
      side: e.side,
      qty: e.qty,
      filledQty: e.filledQty ?? null,
      filledAvgPrice: e.filledAvgPrice ?? null,
      barSource: e.barSource ?? null,
      reason: e.reason ?? '',
      at: new Date(now()).toISOString(),
    };
    // A halt names no order: its time tells one halt from the next.
    const key = e.orderId ?? e.clientOrderId ?? e.signalId ?? e.symbol ?? `executor@${event.at}`;
    const msgID = `${key}:${e.event}:${e.filledQty ?? 0}`;
    await js.publish(orderEventSubject(e.event), encode(OrderEvent, event), { msgID });
    published.inc({ event: e.event });
    const level = e.event === 'rejected' || e.event === 'failed' || e.event === 'halted' ? 'warn' : 'info';
    const source = event.barSource ? ` (${event.barSource} bar)` : '';
    log[level]({ orderEvent: event }, `order ${e.event}${source}${e.reason ? `: ${e.reason}` : ''}`);
  };
}
