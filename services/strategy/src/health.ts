import type { Decision } from '@vigil/contracts';
import type { ServiceHealth } from '@vigil/service-kit';
import type { BarOutcome } from './bar-handler.js';

export interface StrategyHealthInput {
  /** Bars handled since start, by outcome. */
  outcomes: Readonly<Record<BarOutcome, number>>;
  /** The last decision per symbol, aged at the report's time (`DecisionLog.snapshot`). */
  decisions: Record<string, Decision>;
  /** False before the first broker clock read: no bar can be judged fresh, so no signal can go out. */
  brokerClockKnown: boolean;
}

/**
 * The strategy's `health.strategy` account: bars decided (folded in and judged, signal or not), signals
 * published and suppressed as stale, malformed bars, and how long ago it last decided. Degraded without a
 * broker clock; the consumer's readiness is added by service-kit. Pure.
 */
export function strategyHealth(input: StrategyHealthInput): ServiceHealth {
  const { outcomes } = input;
  const ages = Object.values(input.decisions).map((d) => d.ageMs);
  return {
    status: input.brokerClockKnown ? 'ok' : 'degraded',
    figures: {
      barsDecided: outcomes.no_signal + outcomes.signal + outcomes.stale,
      signalsPublished: outcomes.signal,
      signalsSuppressed: outcomes.stale,
      barsMalformed: outcomes.malformed,
      symbolsDecided: ages.length,
      lastDecisionAgeMs: ages.length === 0 ? null : Math.min(...ages),
    },
    notes: input.brokerClockKnown ? [] : ['no broker clock yet: bars cannot be judged fresh, no signal goes out'],
  };
}
