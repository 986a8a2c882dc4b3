import { BarSource } from '@vigil/contracts';
import { alpacaConfig, baseConfig, clockConfig, envInt } from '@vigil/service-kit';
import * as z from 'zod';

export const strategyNames = ['ma_cross', 'momentum'] as const;

export const strategyConfig = z
  .object({
    ...baseConfig,
    // The broker clock is the only "now" a signal's freshness is judged by.
    ...alpacaConfig,
    STRATEGY: z.enum(strategyNames, { error: `expected one of ${strategyNames.join(', ')}` }).default('ma_cross'),
    MAX_SIGNAL_AGE_MS: envInt(90_000, { min: 1_000 }),
    ORDER_QTY: envInt(1, { min: 1 }),
    MA_FAST: envInt(5, { min: 1 }),
    MA_SLOW: envInt(20, { min: 2 }),
    MOMENTUM_LOOKBACK: envInt(10, { min: 1 }),
    MOMENTUM_THRESHOLD_BPS: envInt(20, { min: 1 }),
    /**
     * Which bar sources may trade when fresh. All three by default: a polled bar during a stream outage is as
     * fresh as a live one, and leaving it out holds positions unmanaged (the watchdog pages position_unmanaged).
     */
    SIGNAL_SOURCES: z
      .string()
      .transform((s) => [
        ...new Set(
          s
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean),
        ),
      ])
      .pipe(z.array(BarSource, { error: `expected a comma-separated list of ${BarSource.options.join(', ')}` }).min(1))
      .default([...BarSource.options]),
    /** How often `strategy.heartbeat` reports the strategy alive and its last decision per symbol. */
    HEARTBEAT_INTERVAL_MS: envInt(5_000, { min: 100 }),
    ...clockConfig,
    /** How long a signal's publish or a state write waits for JetStream's ack before the bar is redelivered. */
    PUBLISH_TIMEOUT_MS: envInt(2_000, { min: 50 }),
  })
  .refine((c) => c.MA_FAST < c.MA_SLOW, { error: 'MA_FAST must be smaller than MA_SLOW', path: ['MA_FAST'] });

export type StrategyConfig = z.infer<typeof strategyConfig>;
