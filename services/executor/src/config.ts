import { alpacaConfig, baseConfig, envInt } from '@vigil/service-kit';
import * as z from 'zod';

export const executorConfig = z.object({
  ...baseConfig,
  ...alpacaConfig,
  MAX_POSITION_QTY: envInt(100, { min: 1 }),
  MAX_ORDER_NOTIONAL: envInt(25_000, { min: 1 }),
  MAX_ORDERS_PER_MINUTE: envInt(10, { min: 1 }),
  /** A signal whose bar ended longer ago than this (broker time) is rejected, e.g. one redelivered after an outage. */
  MAX_SIGNAL_AGE_MS: envInt(120_000, { min: 1_000 }),
  TIME_IN_FORCE: z.enum(['day', 'gtc'], { error: 'expected day or gtc' }).default('day'),
  RECONCILE_INTERVAL_MS: envInt(300_000, { min: 1_000 }),
  ORDER_POLL_MS: envInt(2_000, { min: 100 }),
  BROKER_RETRY_INITIAL_MS: envInt(250, { min: 1 }),
  BROKER_RETRY_MAX_MS: envInt(10_000, { min: 1 }),
  BROKER_MAX_ATTEMPTS: envInt(5, { min: 1, max: 50 }),
  FLATTEN_RETRY_MAX_MS: envInt(30_000, { min: 10 }),
  CLOCK_REFRESH_MS: envInt(15_000, { min: 100 }),
});

export type ExecutorConfig = z.infer<typeof executorConfig>;
