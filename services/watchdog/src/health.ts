import type { ServiceHealth } from '@vigil/service-kit';
import type { WatchdogStatus } from './watchdog.js';

export type HealthView = Pick<
  WatchdogStatus,
  | 'phase'
  | 'gateway'
  | 'barsPerMinute'
  | 'lastBarAgeMs'
  | 'reconnects'
  | 'uptimePct'
  | 'openAlerts'
  | 'executorHalted'
  | 'incident'
  | 'feed'
  | 'degraded'
  | 'unmanaged'
>;

/**
 * The watchdog's `health.watchdog` account, from its status: `degraded` while an incident is open (the
 * system it watches is not well, and the executor's self-halt reads this report), else `ok`; its figures and
 * what is open as notes. Pure.
 */
export function watchdogHealth(s: HealthView): ServiceHealth {
  return {
    status: s.openAlerts > 0 ? 'degraded' : 'ok',
    figures: {
      barsPerMinute: s.barsPerMinute,
      lastBarAgeMs: s.lastBarAgeMs,
      reconnects: s.reconnects,
      uptimePct: s.uptimePct,
      openAlerts: s.openAlerts,
      executorHalted: s.executorHalted ? 1 : 0,
    },
    notes: [
      ...(s.incident ? [`stale-data incident ${s.incident.id} open`] : []),
      ...(s.gateway.up ? [] : ['no gateway heartbeat']),
      ...(s.degraded ? [`feed degraded: live stream down (${s.feed?.dataPath ?? 'unknown'} carries the data)`] : []),
      ...(s.unmanaged ? [`positions unmanaged: ${s.unmanaged.symbols.join(', ')}`] : []),
      `market ${s.phase}`,
    ],
  };
}
