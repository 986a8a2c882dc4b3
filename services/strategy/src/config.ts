import { alpacaConfig, baseConfig, envInt } from '@vigil/service-kit';
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
    CLOCK_REFRESH_MS: envInt(15_000, { min: 100 }),
    /** How long a signal's publish or a state write waits for JetStream's ack before the bar is redelivered. */
    PUBLISH_TIMEOUT_MS: envInt(2_000, { min: 50 }),
  })
  .refine((c) => c.MA_FAST < c.MA_SLOW, { error: 'MA_FAST must be smaller than MA_SLOW', path: ['MA_FAST'] });

export type StrategyConfig = z.infer<typeof strategyConfig>;
