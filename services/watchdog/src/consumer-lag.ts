import { alert, iso, secs, type Action } from './drafts.js';

/**
 * `consumer_lag`: a durable consumer (BARS/strategy, SIGNALS/executor) whose backlog (num_pending +
 * num_ack_pending) has stayed above zero without reaching a new low for CONSUMER_LAG_ALERT_MS while bars arrive:
 * data flows in and nothing decides on it, the failure no heartbeat shows. A warning, critical (same incident)
 * at CONSUMER_LAG_CRITICAL_MS. It resolves when the backlog is empty, or when it has shrunk on two reads in a row
 * (the consumer is working it down; one smaller read may be the stream's limits dropping old messages). Without
 * fresh bars nothing opens or escalates (`no_bar` covers that, and a closed market has nothing to decide).
 * Pure; `consumer-info.ts` reads the figures, `watchdog.ts` feeds them in.
 */
export interface LagConfig {
  consumerLagAlertMs: number;
  consumerLagCriticalMs: number;
}

export interface LagWatch {
  /** The smallest backlog since it last was empty or shrank: a read below it is progress. */
  low: number;
  /** When the backlog was first seen, or last reached a new low; null while it is empty. */
  stalledSince: number | null;
  /** New lows in a row, to tell a consumer working its backlog down from one stray smaller read. */
  shrinks: number;
  open: { id: string; openedAt: number; critical: boolean } | null;
}

export const emptyLagWatch = (): LagWatch => ({ low: 0, stalledSince: null, shrinks: 0, open: null });

export interface ConsumerRead {
  /** `STREAM/durable`, as named in alerts and metrics. */
  consumer: string;
  /** num_pending + num_ack_pending. */
  pending: number;
}

/** One successful INFO read of a consumer. Mutates `w`, returns the alerts. */
export function onConsumerRead(
  cfg: LagConfig,
  w: LagWatch,
  read: ConsumerRead,
  barsFlowing: boolean,
  now: number,
): Action[] {
  const { consumer, pending } = read;
  const open = w.open;
  const resolve = (why: string): Action[] => {
    w.open = null;
    const durationMs = now - open!.openedAt;
    return [
      alert('consumer_lag', 'info', 'resolved', open!.id, `${consumer} ${why}`, durationMs, { consumer, pending }),
    ];
  };
  if (pending === 0) {
    Object.assign(w, { low: 0, stalledSince: null, shrinks: 0 });
    return open ? resolve('has caught up: nothing pending') : [];
  }
  if (w.stalledSince === null) {
    Object.assign(w, { low: pending, stalledSince: now, shrinks: 0 });
  } else if (pending < w.low) {
    Object.assign(w, { low: pending, stalledSince: now, shrinks: w.shrinks + 1 });
    if (open && w.shrinks >= 2) return resolve(`is working its backlog down (${pending} pending)`);
  } else {
    w.shrinks = 0;
  }
  const stalledFor = now - w.stalledSince!;
  if (!barsFlowing) return [];
  const details = { consumer, pending, stalledSince: iso(w.stalledSince!) };
  if (!w.open && stalledFor >= cfg.consumerLagAlertMs) {
    w.open = { id: `lag-${consumer}-${iso(now)}`, openedAt: now, critical: false };
    return [
      alert(
        'consumer_lag',
        'warning',
        'open',
        w.open.id,
        `${consumer} has ${pending} messages pending and has not caught up for ${secs(stalledFor)} while bars arrive`,
        null,
        details,
      ),
    ];
  }
  if (w.open && !w.open.critical && stalledFor >= cfg.consumerLagCriticalMs) {
    w.open.critical = true;
    return [
      alert(
        'consumer_lag',
        'critical',
        'open',
        w.open.id,
        `${consumer} still has ${pending} messages pending after ${secs(stalledFor)} without catching up: nothing is deciding on the data`,
        null,
        details,
      ),
    ];
  }
  return [];
}
