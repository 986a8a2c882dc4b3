import { ContractError } from './errors.js';
import { TICKER_PATTERN } from './primitives.js';
import type { AlertKind } from './messages/alert.js';
import type { OrderEventKind } from './messages/order-event.js';

/**
 * Every subject Vigil uses, in one place, but for commands': those are in `commands`, each with its request
 * and reply schemas. Tickers such as `BRK.B` contain a dot, which NATS would read as a token separator, so
 * a symbol's subject token spells it with `_` (`md.bars.1m.BRK_B`).
 */
export const subjects = {
  barsAll: 'md.bars.>',
  bars1mAll: 'md.bars.1m.>',
  heartbeat: 'md.heartbeat',
  /** A standby gateway's heartbeat (`StandbyHeartbeat`): ready to take over, not streaming. Only the gateway
   * holding the lease publishes on `md.heartbeat`. */
  gatewayStandby: 'md.standby',
  strategyHeartbeat: 'strategy.heartbeat',
  signalsAll: 'strategy.signals.>',
  ordersAll: 'executor.orders.>',
  alertsAll: 'alerts.>',
  healthAll: 'health.>',
} as const;

export function symbolToken(symbol: string): string {
  if (!TICKER_PATTERN.test(symbol)) {
    throw new ContractError(
      `"${symbol}" is not a ticker Vigil can put in a subject; use upper-case letters, digits and "."`,
    );
  }
  return symbol.replace(/\./g, '_');
}

export function symbolFromToken(tokenText: string): string {
  return tokenText.replace(/_/g, '.');
}

export const bar1mSubject = (symbol: string): string => `md.bars.1m.${symbolToken(symbol)}`;
export const signalSubject = (symbol: string): string => `strategy.signals.${symbolToken(symbol)}`;
export const orderEventSubject = (event: OrderEventKind): string => `executor.orders.${event}`;
export const alertSubject = (kind: AlertKind): string => `alerts.${kind}`;
export const healthSubject = (service: string): string => `health.${service}`;

/** JetStream dedup id of a bar: `<SYMBOL>:<bar start ISO>`, and `:r<revision>` for a corrected bar. */
export function barMsgId(symbol: string, t: string, revision = 0): string {
  // As `toISOString` writes it, so every spelling of one instant gets one id.
  const base = `${symbol}:${msgIdInstant(t)}`;
  return revision > 0 ? `${base}:r${revision}` : base;
}

/**
 * `new Date(x).toISOString()`, remembering its last answer: on a hot path runs of equal inputs are the rule (a
 * minute's bars share their start), and each call builds a Date. One memo per stream of inputs, or they evict
 * each other.
 */
export function isoMemo(): (x: string | number) => string {
  let lastIn: string | number | undefined;
  let lastOut = '';
  return (x) => {
    if (x !== lastIn) {
      lastOut = new Date(x).toISOString();
      lastIn = x;
    }
    return lastOut;
  };
}
const msgIdInstant = isoMemo();
