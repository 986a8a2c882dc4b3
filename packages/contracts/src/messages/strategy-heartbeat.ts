import * as z from 'zod';
import { isoInstant, nonNegativeInt, schemaVersion, symbol, token } from '../primitives.js';
import { BarSource } from './bar.js';

/** The last bar the strategy decided on for one symbol: judged fresh enough to trade, signal or not. */
export const Decision = z.strictObject({
  /** Start of the bar decided on. */
  barT: isoInstant,
  barSource: BarSource,
  /** `buy`, `sell` or `none` (the indicators gave no signal). */
  outcome: z.enum(['buy', 'sell', 'none']),
  /** When it decided, on the strategy's clock. */
  decidedAt: isoInstant,
  /** `sentAt - decidedAt`, so a reader on another machine judges the age without trusting either clock. */
  ageMs: nonNegativeInt,
});
export type Decision = z.infer<typeof Decision>;

/**
 * `strategy.heartbeat`: the strategy is alive and, per symbol, when it last decided. A symbol held at the
 * broker whose decisions stop is a position nobody manages, whatever the reason; the watchdog pages on it.
 */
export const StrategyHeartbeat = z.strictObject({
  v: schemaVersion,
  service: token,
  instanceId: z.string().min(1),
  strategy: token,
  seq: nonNegativeInt,
  sentAt: isoInstant,
  /** Symbols decided on since this process started; a symbol it has not decided on yet is absent. */
  lastDecisions: z.record(symbol, Decision),
  /** Bar sources the strategy trades on (`SIGNAL_SOURCES`); bars from others are folded in without deciding. */
  signalSources: z.array(BarSource),
});
export type StrategyHeartbeat = z.infer<typeof StrategyHeartbeat>;
