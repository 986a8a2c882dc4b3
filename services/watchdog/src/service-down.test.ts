import { describe, expect, it } from 'vitest';
import type { Action, AlertDraft } from './drafts.js';
import {
  evaluateServices,
  initialServices,
  onHealthReport,
  openOutages,
  restoreOutages,
  serviceUp,
  type WatchedService,
} from './service-down.js';

const cfg = { serviceDownAfterMs: 30_000 };
const alerts = (actions: Action[]): AlertDraft[] => actions.flatMap((a) => (a.type === 'alert' ? [a.alert] : []));

/** Every watched service reports at `t`, except those named. */
function reportAll(s: ReturnType<typeof initialServices>, t: number, except: WatchedService[] = []): Action[] {
  return (['market-gateway', 'strategy', 'executor'] as const)
    .filter((svc) => !except.includes(svc))
    .flatMap((svc) => onHealthReport(s, svc, `${svc}-1`, t));
}

describe('service_down', () => {
  it('stays quiet while every service reports within SERVICE_DOWN_AFTER_MS', () => {
    const s = initialServices(0);
    for (let t = 10_000; t <= 300_000; t += 10_000) {
      expect(reportAll(s, t)).toEqual([]);
      expect(evaluateServices(cfg, s, 'open', t + 5_000)).toEqual([]);
    }
  });

  it('pages once per outage, critical in market hours, naming the service and when it was last heard', () => {
    const s = initialServices(0);
    reportAll(s, 10_000);
    reportAll(s, 20_000, ['strategy']);
    expect(evaluateServices(cfg, s, 'open', 39_999)).toEqual([]);
    const [opened, ...more] = alerts(evaluateServices(cfg, s, 'open', 40_000));
    expect(more).toEqual([]);
    expect(opened).toMatchObject({ kind: 'service_down', severity: 'critical', status: 'open' });
    expect(opened!.message).toContain('strategy');
    expect(opened!.message).toContain('1970-01-01T00:00:10.000Z');
    expect(opened!.details).toMatchObject({ service: 'strategy', lastHeardAt: '1970-01-01T00:00:10.000Z' });
    expect(serviceUp(s, 'strategy')).toBe(0);
    expect(serviceUp(s, 'executor')).toBe(1);
    // Still silent (the others still reporting): no second page.
    for (let t = 41_000; t < 200_000; t += 1_000) {
      if (t % 10_000 === 0) reportAll(s, t, ['strategy']);
      expect(evaluateServices(cfg, s, 'open', t)).toEqual([]);
    }

    const [resolved] = alerts(onHealthReport(s, 'strategy', 'strategy-2', 200_000));
    expect(resolved).toMatchObject({
      kind: 'service_down',
      severity: 'info',
      status: 'resolved',
      incidentId: opened!.incidentId,
      durationMs: 190_000,
      details: { service: 'strategy', instanceId: 'strategy-2' },
    });
    expect(serviceUp(s, 'strategy')).toBe(1);
    // A later outage is a new incident.
    const [again] = alerts(evaluateServices(cfg, s, 'open', 230_000));
    expect(again?.incidentId).not.toBe(opened!.incidentId);
  });

  it("counts a service never heard from the watchdog's start", () => {
    const s = initialServices(1_000);
    reportAll(s, 5_000, ['executor']);
    expect(evaluateServices(cfg, s, 'open', 30_999)).toEqual([]);
    const [opened] = alerts(evaluateServices(cfg, s, 'open', 31_000));
    expect(opened?.details).toMatchObject({ service: 'executor', lastHeardAt: null });
    expect(opened?.message).toMatch(/never heard since the watchdog started at 1970-01-01T00:00:01.000Z/);
  });

  it('is a warning while the market is closed, and turns critical once if it lasts into the open', () => {
    const s = initialServices(0);
    reportAll(s, 0);
    const warnings = alerts(evaluateServices(cfg, s, 'closed', 30_000));
    expect(warnings.map((a) => a.severity)).toEqual(['warning', 'warning', 'warning']);
    expect(alerts(evaluateServices(cfg, s, 'closed', 60_000))).toHaveLength(0);
    const criticals = alerts(evaluateServices(cfg, s, 'open', 90_000));
    expect(criticals.map((a) => [a.severity, a.status, a.incidentId])).toEqual(
      warnings.map((w) => ['critical', 'open', w.incidentId]),
    );
    expect(alerts(evaluateServices(cfg, s, 'open', 91_000))).toHaveLength(0);
  });

  it('treats an unknown market phase as open: unsure means critical', () => {
    const s = initialServices(0);
    const opened = alerts(evaluateServices(cfg, s, 'unknown', 30_000));
    expect(opened.map((a) => a.severity)).toEqual(['critical', 'critical', 'critical']);
  });

  it('carries an outage over a watchdog restart: no second page, resolved under the same incident with its whole duration', () => {
    const before = initialServices(0);
    reportAll(before, 10_000);
    const [opened] = alerts(evaluateServices(cfg, before, 'open', 40_000));
    const stored = JSON.parse(JSON.stringify(openOutages(before)));
    expect(Object.keys(stored)).toEqual(['market-gateway', 'strategy', 'executor']);

    const after = initialServices(100_000);
    restoreOutages(after, stored);
    expect(serviceUp(after, 'market-gateway')).toBe(0);
    for (let t = 100_000; t < 200_000; t += 1_000) expect(evaluateServices(cfg, after, 'open', t)).toEqual([]);
    const [resolved] = alerts(onHealthReport(after, 'market-gateway', 'market-gateway-2', 200_000));
    expect(resolved).toMatchObject({ status: 'resolved', incidentId: opened!.incidentId, durationMs: 190_000 });
  });
});
