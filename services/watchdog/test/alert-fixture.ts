import type { Alert } from '@vigil/contracts';

/** A valid critical `no_bar` alert opening incident `stale-1`; tests override what they look at. */
export const testAlert = (over: Partial<Alert> = {}): Alert => ({
  v: 1,
  id: `a-${Math.random().toString(36).slice(2)}`,
  kind: 'no_bar',
  severity: 'critical',
  status: 'open',
  incidentId: 'stale-1',
  message: 'no bar for 2.0 min while the market is open',
  at: '2026-11-27T15:32:00.000Z',
  durationMs: null,
  details: {},
  ...over,
});
