import { describe, expect, it } from 'vitest';
import { deadmanFailUrl, OpenCriticals, pingForm } from './deadman.js';

describe("dead man's switch", () => {
  it('appends /fail to the path, as healthchecks.io expects, keeping a query', () => {
    expect(deadmanFailUrl('https://hc-ping.com/abc-123')).toBe('https://hc-ping.com/abc-123/fail');
    expect(deadmanFailUrl('https://hc-ping.com/abc-123/')).toBe('https://hc-ping.com/abc-123/fail');
    expect(deadmanFailUrl('http://127.0.0.1:8000/ping/x?k=1')).toBe('http://127.0.0.1:8000/ping/x/fail?k=1');
  });

  it('sends nothing without NATS, the fail form while a critical incident is open, else the ok form', () => {
    expect(pingForm(false, false)).toBeNull();
    expect(pingForm(false, true)).toBeNull();
    expect(pingForm(true, true)).toBe('fail');
    expect(pingForm(true, false)).toBe('ok');
  });

  it('follows critical incidents from open to resolved; warnings and notices open nothing', () => {
    const c = new OpenCriticals();
    c.onAlert({ severity: 'warning', status: 'open', incidentId: 'degraded-1' });
    c.onAlert({ severity: 'critical', status: 'info', incidentId: 'stale-1' });
    c.onAlert({ severity: 'critical', status: 'open', incidentId: null });
    expect(c.any()).toBe(false);
    c.onAlert({ severity: 'critical', status: 'open', incidentId: 'degraded-1' });
    c.onAlert({ severity: 'critical', status: 'open', incidentId: 'stale-1' });
    expect(c.list()).toEqual(['degraded-1', 'stale-1']);
    c.onAlert({ severity: 'info', status: 'resolved', incidentId: 'degraded-1' });
    expect(c.list()).toEqual(['stale-1']);
    c.onAlert({ severity: 'info', status: 'resolved', incidentId: 'stale-1' });
    expect(c.any()).toBe(false);
  });

  it('starts with the incidents a restarted watchdog carries on', () => {
    const c = new OpenCriticals();
    c.restore(['stale-1']);
    expect(c.any()).toBe(true);
    c.onAlert({ severity: 'info', status: 'resolved', incidentId: 'stale-1' });
    expect(c.any()).toBe(false);
  });
});
