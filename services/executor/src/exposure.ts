import type { Side } from '@vigil/contracts';

export interface OpenOrderView {
  symbol: string;
  side: Side;
  qty: number;
  filledQty: number;
}

/**
 * Shares an order was seen to fill that the positions last read from the broker may not include yet.
 * `seenAt` is a tick of the tracker's counter, which also stamps each positions read when it is sent.
 */
export interface UnsettledFill {
  orderId: string;
  symbol: string;
  /** Signed: + bought, − sold. */
  qty: number;
  seenAt: number;
}

const signed = (side: Side, qty: number): number => (side === 'buy' ? qty : -qty);

/**
 * One symbol's book, by side, for the position limit: what is held, and what the open orders could still add
 * on either side. Kept apart because they do not net: an open buy may be canceled, so it cannot make room for
 * a sell (nor an open sell for a buy).
 */
export interface Book {
  /** Signed shares: the broker's position as last read plus the fills seen that read may have missed. */
  held: number;
  /** Unfilled rest of the open buys (≥ 0). */
  openBuy: number;
  /** Unfilled rest of the open sells (≥ 0). */
  openSell: number;
}

/**
 * The book of `symbol`: the broker's position as last read, plus fills seen since that read may have missed,
 * and the unfilled rest of open orders by side. A fill moves from the open order to the unsettled fills in one
 * step, so no moment leaves it out; it leaves them when a positions read sent after it was seen lands.
 */
export function bookOf(
  symbol: string,
  positions: ReadonlyMap<string, number>,
  open: Iterable<OpenOrderView>,
  unsettled: Iterable<UnsettledFill>,
): Book {
  const book: Book = { held: positions.get(symbol) ?? 0, openBuy: 0, openSell: 0 };
  for (const f of unsettled) if (f.symbol === symbol) book.held += f.qty;
  for (const o of open) {
    if (o.symbol !== symbol) continue;
    if (o.side === 'buy') book.openBuy += o.qty - o.filledQty;
    else book.openSell += o.qty - o.filledQty;
  }
  return book;
}

/** Signed shares if every open order filled: held plus open buys minus open sells (for logs and tests). */
export function exposureOf(
  symbol: string,
  positions: ReadonlyMap<string, number>,
  open: Iterable<OpenOrderView>,
  unsettled: Iterable<UnsettledFill>,
): number {
  const b = bookOf(symbol, positions, open, unsettled);
  return b.held + b.openBuy - b.openSell;
}

/** The shares an order filled between two looks at it, or null when its filled quantity did not grow. */
export function newFill(
  order: { id: string; symbol: string; side: Side },
  prevFilledQty: number,
  filledQty: number,
  seenAt: number,
): UnsettledFill | null {
  if (!(filledQty > prevFilledQty)) return null;
  return { orderId: order.id, symbol: order.symbol, qty: signed(order.side, filledQty - prevFilledQty), seenAt };
}

/**
 * The fills a positions read sent at `readSentAt` may have missed. It includes every fill seen before it was
 * sent (the broker books the position with the fill); one seen later may or may not be in it, so it stays
 * counted until a later read.
 */
export function stillUnsettled(unsettled: readonly UnsettledFill[], readSentAt: number): UnsettledFill[] {
  return unsettled.filter((f) => f.seenAt > readSentAt);
}

/** Signed shares per symbol: positions plus the given fills (what the executor expects a read to show). */
export function withFills(positions: ReadonlyMap<string, number>, fills: Iterable<UnsettledFill>): Map<string, number> {
  const out = new Map(positions);
  for (const f of fills) out.set(f.symbol, (out.get(f.symbol) ?? 0) + f.qty);
  return out;
}
