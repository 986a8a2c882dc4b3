import type { OrderEventKind } from '@vigil/contracts';

/** The broker's order status as the event we publish; null for in-between states we do not announce. */
export function eventForStatus(status: string): OrderEventKind | null {
  switch (status) {
    case 'new':
    case 'accepted':
    case 'pending_new':
    case 'accepted_for_bidding':
    case 'calculated':
    case 'held':
      return 'accepted';
    case 'partially_filled':
      return 'partially_filled';
    case 'filled':
      return 'filled';
    case 'canceled':
    case 'replaced':
      return 'canceled';
    case 'expired':
    case 'done_for_day':
      return 'expired';
    case 'rejected':
      return 'rejected';
    default:
      return null;
  }
}

const TERMINAL = new Set(['filled', 'canceled', 'expired', 'rejected', 'replaced']);

/** Statuses after which an order never changes again, so tracking can stop. */
export function isTerminal(status: string): boolean {
  return TERMINAL.has(status);
}

export interface OrderSnapshot {
  status: string;
  filledQty: number;
}

/**
 * The event to publish when an order moves from `prev` to `cur`, or null when nothing worth announcing
 * changed. A new partial fill is a change even when the status stays `partially_filled`.
 */
export function orderChange(prev: OrderSnapshot | null, cur: OrderSnapshot): OrderEventKind | null {
  const kind = eventForStatus(cur.status);
  if (!kind) return null;
  if (prev && eventForStatus(prev.status) === kind && prev.filledQty === cur.filledQty) return null;
  return kind;
}
