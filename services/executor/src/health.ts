import type { ExecutorHaltState } from '@vigil/contracts';
import type { ServiceHealth } from '@vigil/service-kit';

export interface ExecutorHealthInput {
  halt: ExecutorHaltState;
  /** Orders tracked until final (`OrderTracker.openOrders`). */
  openOrders: number;
  /** Orders placed at the broker since this process started. */
  ordersPlaced: number;
  /** Epoch ms the watchdog's health report last arrived (the self-halt's evidence), null if never. */
  watchdogHeardAt: number | null;
  now: number;
}

/**
 * The executor's `health.executor` account: `degraded` while halted (no new orders; a person or the watchdog
 * must resume), saying who halted and why; else `ok`. Whether signals are consumed yet is its readiness,
 * which service-kit adds. Pure.
 */
export function executorHealth(input: ExecutorHealthInput): ServiceHealth {
  const { halt } = input;
  return {
    status: halt.halted ? 'degraded' : 'ok',
    figures: {
      halted: halt.halted ? 1 : 0,
      flattened: halt.flattened ? 1 : 0,
      openOrders: input.openOrders,
      ordersPlaced: input.ordersPlaced,
      watchdogHeardAgoMs: input.watchdogHeardAt === null ? null : Math.max(0, input.now - input.watchdogHeardAt),
    },
    notes: halt.halted
      ? [
          `halted by ${halt.by ?? 'unknown'} since ${halt.since ?? 'unknown'}: ${halt.reason ?? 'no reason given'}` +
            (halt.flattened ? ' (positions flattened)' : ''),
        ]
      : [],
  };
}
