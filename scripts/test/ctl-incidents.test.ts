import type { Alert } from '@vigil/contracts';
import { describe, expect, it } from 'vitest';
import { openIncidents } from '../ctl/incidents.js';

const alert = (id: string, incidentId: string | null, status: Alert['status'], kind: Alert['kind']): Alert => ({
  v: 1,
  id,
  kind,
  severity: kind === 'stale_halt' ? 'critical' : kind === 'no_bar' ? 'warning' : 'info',
  status,
  incidentId,
  message: id,
  at: `2026-12-02T15:0${id}:00.000Z`,
  durationMs: null,
  details: {},
});

describe('open incidents from the alert log', () => {
  it('keeps incidents opened and not resolved, with their kinds, worst severity and latest alert', () => {
    const open = openIncidents([
      alert('1', 'A', 'open', 'no_bar'),
      alert('2', 'B', 'open', 'no_bar'),
      alert('3', null, 'info', 'reconnect'),
      alert('4', 'B', 'open', 'stale_halt'),
      alert('5', 'A', 'resolved', 'resumed'),
      alert('6', 'B', 'info', 'reconnect'),
    ]);
    expect(open).toEqual([
      {
        incidentId: 'B',
        openedAt: '2026-12-02T15:02:00.000Z',
        kinds: ['no_bar', 'stale_halt', 'reconnect'],
        highestSeverity: 'critical',
        latest: alert('6', 'B', 'info', 'reconnect'),
      },
    ]);
  });

  it('ignores what was resolved, or never opened within the alerts read', () => {
    expect(openIncidents([alert('1', 'A', 'info', 'flatten'), alert('2', 'C', 'resolved', 'resumed')])).toEqual([]);
    expect(openIncidents([])).toEqual([]);
  });
});
