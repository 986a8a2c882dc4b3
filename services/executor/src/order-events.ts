import { jetstream } from '@nats-io/jetstream';
import { encode, OrderEvent, orderEventSubject, type OrderEventKind, type Side } from '@vigil/contracts';
import type { Logger, Metrics, NatsConnection } from '@vigil/service-kit';

export interface OrderEventInput {
  event: OrderEventKind;
  symbol: string;
  side: Side;
  qty: number;
  signalId?: string | null;
  clientOrderId?: string | null;
  orderId?: string | null;
  filledQty?: number | null;
  filledAvgPrice?: number | null;
  reason?: string;
}

export type PublishOrderEvent = (e: OrderEventInput) => Promise<void>;

/**
 * Publish `executor.orders.<event>` into the ORDERS stream. The msgID (order or signal, event, filled qty)
 * lets the server drop the copy a restarted executor would send for a change it already announced.
 */
export function orderEventPublisher(nc: NatsConnection, logger: Logger, metrics: Metrics, now: () => number = Date.now): PublishOrderEvent {
  const js = jetstream(nc);
  const published = metrics.counter('order_events_total', 'Order events published, by event', ['event']);
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
      reason: e.reason ?? '',
      at: new Date(now()).toISOString(),
    };
    const msgID = `${e.orderId ?? e.clientOrderId ?? e.signalId ?? e.symbol}:${e.event}:${e.filledQty ?? 0}`;
    await js.publish(orderEventSubject(e.event), encode(OrderEvent, event), { msgID });
    published.inc({ event: e.event });
    const level = e.event === 'rejected' || e.event === 'failed' ? 'warn' : 'info';
    log[level]({ orderEvent: event }, `order ${e.event}${e.reason ? `: ${e.reason}` : ''}`);
  };
}
