import { Bar, decodeOn, signalId, type BarSource, type Signal } from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';
import type { DecisionLog } from './decisions.js';
import { freshness } from './freshness.js';
import type { IndicatorStore } from './indicator-store.js';
import type { Strategy } from './strategy.js';

export type BarOutcome = 'malformed' | 'already_seen' | 'no_signal' | 'stale' | 'signal';

export interface BarHandlerDeps {
  strategy: Strategy;
  store: IndicatorStore;
  /** Broker time in epoch ms, or null before the first clock read (see MarketClock). */
  brokerNow: () => number | null;
  /** Publish to JetStream with the signal id as msgID; must resolve only when the server stored it. */
  publish: (signal: Signal) => Promise<void>;
  logger: Logger;
  metrics: Metrics;
  maxSignalAgeMs: number;
  /** Bar sources that may trade (SIGNAL_SOURCES); bars from others are folded in without deciding. */
  signalSources: readonly BarSource[];
  /** Where each decision is recorded for the strategy heartbeat. */
  decisions: DecisionLog;
  qty: number;
  now?: () => number;
}

/**
 * Fold one bar into its symbol's indicators and decide. Order matters for restarts: the signal is published
 * (deduplicated by its id) before the state is saved, and the state is saved before the caller acks, so a
 * crash at any point redelivers the bar and either re-publishes the same id (dropped by the server) or finds
 * the bar already folded in (t <= lastT) and skips it.
 */
export function createBarHandler(deps: BarHandlerDeps): (subject: string, data: Uint8Array) => Promise<BarOutcome> {
  const log = deps.logger.child({ component: 'bar-handler', strategy: deps.strategy.name });
  const now = deps.now ?? Date.now;
  const outcomes = deps.metrics.counter('strategy_bars_total', 'Bars handled, by outcome', ['outcome']);
  const signals = deps.metrics.counter('strategy_signals_total', 'Signals published', ['side']);

  return async (subject, data) => {
    const decoded = decodeOn(Bar, subject, data);
    if (!decoded.ok) {
      outcomes.inc({ outcome: 'malformed' });
      log.error({ subject, err: decoded.error }, 'malformed bar; dropping it (terminated, never redelivered)');
      return 'malformed';
    }
    const bar = decoded.value;
    const barMs = Date.parse(bar.t);
    const current = await deps.store.get(bar.symbol);
    if (current.lastT !== null && barMs <= current.lastT) {
      outcomes.inc({ outcome: 'already_seen' });
      log.debug(
        { symbol: bar.symbol, t: bar.t, lastT: new Date(current.lastT).toISOString(), revision: bar.revision },
        'bar at or before the last one folded in; skipped',
      );
      return 'already_seen';
    }

    const step = deps.strategy.step(bar, current.state);
    const brokerNow = deps.brokerNow();
    const fresh = freshness(bar, brokerNow, deps.maxSignalAgeMs, deps.signalSources);
    const decision = !step.signal ? 'none' : fresh.fresh ? step.signal.side : 'suppressed';
    log.info(
      {
        symbol: bar.symbol,
        barT: bar.t,
        source: bar.source,
        close: bar.close,
        inputs: step.inputs,
        brokerNow: brokerNow === null ? null : new Date(brokerNow).toISOString(),
        ageMs: fresh.ageMs,
        fresh: fresh.fresh,
        decision,
        reason: !step.signal
          ? 'indicators give no signal'
          : fresh.fresh
            ? step.signal.reason
            : `${step.signal.reason}; not sent: ${fresh.reason}`,
      },
      'Evaluating trading decision',
    );

    let outcome: BarOutcome = 'no_signal';
    if (step.signal && fresh.fresh) {
      const signal: Signal = {
        v: 1,
        id: signalId(deps.strategy.name, bar.symbol, bar.t),
        strategy: deps.strategy.name,
        symbol: bar.symbol,
        side: step.signal.side,
        qty: deps.qty,
        barT: bar.t,
        barSource: bar.source,
        price: bar.close,
        reason: step.signal.reason,
        inputs: Object.fromEntries(Object.entries(step.signal.inputs).filter(([, v]) => Number.isFinite(v))),
        createdAt: new Date(now()).toISOString(),
      };
      await deps.publish(signal);
      signals.inc({ side: signal.side });
      log.info(
        { signalId: signal.id, side: signal.side, qty: signal.qty, price: signal.price, barSource: signal.barSource },
        'signal published',
      );
      outcome = 'signal';
    } else if (step.signal) {
      outcome = 'stale';
    }
    await deps.store.put(bar.symbol, { lastT: barMs, state: step.state });
    if (fresh.fresh)
      deps.decisions.record(bar.symbol, {
        barT: bar.t,
        barSource: bar.source,
        outcome: step.signal?.side ?? 'none',
        decidedAt: now(),
      });
    outcomes.inc({ outcome });
    return outcome;
  };
}
