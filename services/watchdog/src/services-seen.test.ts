import type { HealthReport } from '@vigil/contracts';
import { describe, expect, it } from 'vitest';
import { evaluateServices, initialServices, onHealthReport, restoreOutages } from './service-down.js';
import { noteReport, servicesLiveness, type LastReports, type SelfAccount } from './services-seen.js';

const report = (service: string, over: Partial<HealthReport> = {}): HealthReport => ({
  v: 1,
  service,
  instanceId: `${service}-1`,
  version: '0.1.0',
  at: '2026-01-06T14:30:00.000Z',
  status: 'ok',
  uptimeSec: 60,
  figures: { barsLastMinute: 3 },
  notes: [],
  ...over,
});
const self: SelfAccount = {
  health: { status: 'degraded', figures: { openAlerts: 1 }, notes: ['market open'] },
  instanceId: 'watchdog-1',
  version: '0.2.0',
  uptimeSec: 90,
};

describe('services seen', () => {
  it("shows each service's last report, its age, and the watchdog from itself", () => {
    const watch = initialServices(0);
    let last: LastReports = {};
    last = noteReport(last, report('market-gateway', { status: 'degraded', notes: ['polling'] }), 1_000);
    last = noteReport(last, report('executor', { uptimeSec: 5 }), 2_000);
    last = noteReport(last, report('executor', { instanceId: 'executor-2', uptimeSec: 1 }), 4_000);
    last = noteReport(last, report('watchdog', { instanceId: 'watchdog-1' }), 4_500);
    for (const s of ['market-gateway', 'executor'] as const) onHealthReport(watch, s, `${s}-1`, 1_000);

    const rows = servicesLiveness(watch, last, self, 5_000);
    expect(rows.map((r) => [r.service, r.status, r.lastReportAgeMs])).toEqual([
      ['market-gateway', 'degraded', 4_000],
      ['strategy', 'unknown', null],
      ['executor', 'ok', 1_000],
      ['watchdog', 'degraded', 500],
    ]);
    expect(rows[0]).toMatchObject({ version: '0.1.0', uptimeSec: 60, notes: ['polling'], reason: null });
    expect(rows[1]!.reason).toBe('no health report since the watchdog started');
    // The newest report wins, whichever instance sent it (a restarted executor).
    expect(rows[2]).toMatchObject({ instanceId: 'executor-2', uptimeSec: 1 });
    expect(rows[3]).toMatchObject({ instanceId: 'watchdog-1', version: '0.2.0', figures: { openAlerts: 1 } });
  });

  it('says down exactly when service_down has an outage open, and keeps the last report', () => {
    const watch = initialServices(0);
    let last: LastReports = {};
    for (const s of ['market-gateway', 'strategy', 'executor'] as const) {
      last = noteReport(last, report(s), 1_000);
      onHealthReport(watch, s, `${s}-1`, 1_000);
    }
    const cfg = { serviceDownAfterMs: 30_000 };
    // Silent 29 s: stale, but not yet down by service_down's rule.
    evaluateServices(cfg, watch, 'open', 30_000);
    expect(servicesLiveness(watch, last, self, 30_000)[1]).toMatchObject({ status: 'ok', lastReportAgeMs: 29_000 });

    evaluateServices(cfg, watch, 'open', 41_000);
    const strategy = servicesLiveness(watch, last, self, 41_000)[1]!;
    expect(strategy).toMatchObject({ status: 'down', lastReportAgeMs: 40_000, version: '0.1.0' });
    expect(strategy.reason).toBe('no health report for 40 s (service_down open)');

    // Reporting again ends the outage.
    last = noteReport(last, report('strategy', { status: 'degraded' }), 42_000);
    onHealthReport(watch, 'strategy', 'strategy-1', 42_000);
    expect(servicesLiveness(watch, last, self, 42_000)[1]).toMatchObject({ status: 'degraded', reason: null });
  });

  it('takes a service at its word when it reports itself down', () => {
    const watch = initialServices(0);
    onHealthReport(watch, 'executor', 'executor-1', 1_000);
    const last = noteReport({}, report('executor', { status: 'down', notes: ['halted'] }), 1_000);
    expect(servicesLiveness(watch, last, self, 2_000)[2]).toMatchObject({ status: 'down', notes: ['halted'] });
  });

  it("shows a never-heard service down once service_down opens, and the watchdog's own report only if its own", () => {
    const watch = initialServices(0);
    evaluateServices({ serviceDownAfterMs: 30_000 }, watch, 'closed', 31_000);
    const last = noteReport({}, report('watchdog', { instanceId: 'watchdog-old' }), 500);
    const rows = servicesLiveness(watch, last, self, 31_000);
    expect(rows[0]).toMatchObject({ status: 'down', lastReportAgeMs: null, reason: expect.stringMatching(/31 s/) });
    expect(rows[3]).toMatchObject({ instanceId: 'watchdog-1', lastReportAgeMs: null });
  });

  it('counts an outage carried over a watchdog restart from when the service went silent, not from the restart', () => {
    const watch = initialServices(100_000);
    restoreOutages(watch, { strategy: { id: 'service-down-strategy-x', since: 10_000, critical: true } });
    const rows = servicesLiveness(watch, {}, self, 130_000);
    expect(rows[1]).toMatchObject({ status: 'down', reason: 'no health report for 120 s (service_down open)' });
  });
});
