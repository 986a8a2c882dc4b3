import { alpacaConfig, baseConfig, clockConfig, envBool, envInt, envSymbols } from '@vigil/service-kit';
import * as z from 'zod';

export const executorConfig = z.object({
  ...baseConfig,
  ...alpacaConfig,
  /** The only symbols traded; the same list and default as the gateway's (the launcher passes it to both). `*`: any. */
  SYMBOLS: envSymbols(['SPY', 'AAPL', 'MSFT'], { allowAll: true }),
  /** false: long-only, a sell goes out only against shares held and is cut to them; true: shorts within MAX_POSITION_QTY. */
  ALLOW_SHORT: envBool(false),
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
  /** What a flatten closes: the positions (and open orders) of SYMBOLS (`vigil`), or everything in the account. */
  FLATTEN_SCOPE: z.enum(['vigil', 'account'], { error: 'expected vigil or account' }).default('vigil'),
  ...clockConfig,
  /**
   * Orders go out only while the market is open (regular hours). Extended hours are not supported: the
   * executor sends market orders, and Alpaca takes extended-hours orders only as limit orders; `true` is refused.
   */
  EXTENDED_HOURS: z
    .enum(['false', '0', 'no'], {
      error:
        'extended-hours trading is not supported (the executor sends market orders, which Alpaca takes in regular hours only); unset it or set false',
    })
    .optional()
    .transform((): false => false),
  /** After a flatten: `manual`, only a person's resume lifts the halt; `auto`, the watchdog's resume for the incident does. */
  RESUME_AFTER_FLATTEN: z.enum(['manual', 'auto'], { error: 'expected manual or auto' }).default('manual'),
  /**
   * In market hours, with neither a watchdog health report nor a fresh bar (md.heartbeat) heard for this long, the
   * executor halts itself: nobody can see that data is live or that the watchdog would stop a bad trade.
   */
  SELF_HALT_AFTER_MS: envInt(180_000, { min: 1_000 }),
});

export type ExecutorConfig = z.infer<typeof executorConfig>;
