import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Readiness, startHttpServer, type HttpServer } from '@vigil/service-kit';
import { startNats, type NatsServerHandle } from '@vigil/service-kit/testing';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusRoutes } from '../src/page.js';
import type { WatchdogStatus } from '../src/watchdog.js';
import { encode, HealthReport, healthSubject } from '@vigil/contracts';
import {
  fakeAccount,
  fakeBroker,
  fakeExecutor,
  fakeGateway,
  fakePositions,
  runWatchdog,
  type RunningWatchdog,
} from './harness.js';

const screenshots = fileURLToPath(new URL('../../../.vigil/screenshots/', import.meta.url));
let server: NatsServerHandle;
let browser: Browser | null = null;
let http: HttpServer;
let wd: RunningWatchdog;
let gateway: Awaited<ReturnType<typeof fakeGateway>>;
let executor: Awaited<ReturnType<typeof fakeExecutor>>;
const positions = fakePositions();
const account = fakeAccount();

beforeAll(async () => {
  server = await startNats({ own: true });
  gateway = await fakeGateway(server.url);
  executor = await fakeExecutor(server.url);
  wd = await runWatchdog(
    server.url,
    fakeBroker('open').source,
    {
      FLATTEN_POLICY: 'halt',
      FLATTEN_AFTER_MS: '1200',
      ALERT_COMMAND: 'cat > /dev/null',
      SERVICE_DOWN_AFTER_MS: '1500',
    },
    positions.source,
    account.source,
  );
  // The same routes main.ts gives startService, on service-kit's HTTP server with the watchdog's metrics.
  http = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    logger: wd.log.logger,
    metrics: wd.metrics,
    readiness: new Readiness(),
    routes: statusRoutes(() => wd.watchdog.status()),
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await http?.close();
  await wd?.stop();
  await gateway?.close();
  await executor?.close();
  await server?.cleanup();
});

describe('status page', () => {
  it('serves the status as JSON and the same figures on /metrics', async () => {
    await expect
      .poll(async () => ((await (await fetch(`${http.url}/api/status`)).json()) as WatchdogStatus).barsPerMinute, {
        timeout: 5000,
      })
      .toBeGreaterThan(0);
    const metrics = await (await fetch(`${http.url}/metrics`)).text();
    for (const name of [
      'bars_per_minute',
      'last_bar_age_seconds',
      'gateway_up',
      'reconnects_total',
      'uptime_ratio',
      'open_alerts',
    ]) {
      expect(metrics).toContain(`vigil_watchdog_${name}`);
    }
    // Uptime is a 0–1 ratio on /metrics (the page and /api/status show it in percent).
    const uptime = Number(/^vigil_watchdog_uptime_ratio\{[^}]*\} (\S+)$/m.exec(metrics)?.[1]);
    expect(uptime).toBeGreaterThanOrEqual(0);
    expect(uptime).toBeLessThanOrEqual(1);
    // Every metric the Grafana dashboard queries is one the watchdog exports.
    const dashboard = await readFile(
      new URL('../../../infra/grafana/watchdog-dashboard.json', import.meta.url),
      'utf8',
    );
    const queried = new Set(dashboard.match(/vigil_[a-z_]+/g));
    expect(queried.size).toBeGreaterThan(10);
    for (const name of queried) expect(metrics, name).toContain(`# TYPE ${name} `);
  });

  it('shows a stale incident appear and resolve in headless Chromium', async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${http.url}/`);
    await page.locator('#incident[data-state="fresh"]').waitFor({ timeout: 5000 });
    await expect.poll(() => page.locator('#symbols tr').count()).toBe(1);
    expect(await page.locator('#gateway').textContent()).toContain('up');
    expect(await page.locator('#chart rect').count()).toBe(60);
    await expect.poll(() => page.locator('#feed').textContent()).toBe('live');
    await expect.poll(() => page.locator('#unmanaged').textContent()).toBe('every held position is being decided on');

    gateway.bars = false;
    await page.locator('#incident[data-state="open"]').waitFor({ timeout: 5000 });
    // `.first()`: on a loaded machine a bar delayed in flight can resolve the first incident and a second one
    // open (seen once in CI); how many alerts fire is the rules' tests' business, that they show is this one's.
    await page.locator('#alerts li[data-kind="no_bar"]').first().waitFor({ timeout: 5000 });
    await page.locator('#alerts li[data-kind="stale_halt"]').first().waitFor({ timeout: 5000 });
    expect(await page.locator('#incident').textContent()).toMatch(/STALE DATA/);
    await expect.poll(() => page.locator('#executor').textContent()).toBe('HALTED');
    await mkdir(screenshots, { recursive: true });
    await page.screenshot({ path: `${screenshots}watchdog-incident.png`, fullPage: true });

    gateway.bars = true;
    await page.locator('#alerts li[data-kind="resumed"][data-status="resolved"]').first().waitFor({ timeout: 5000 });
    await page.locator('#incident[data-state="fresh"]').waitFor({ timeout: 5000 });
    await expect.poll(() => page.locator('#executor').textContent()).toBe('trading');
    expect(await page.locator('#alerts li[data-kind="resumed"]').first().textContent()).toMatch(/stale for \d/);
    await page.screenshot({ path: `${screenshots}watchdog-resolved.png`, fullPage: true });
    await page.close();
  });

  it("shows each service's liveness, the broker's positions, open orders and P&L, and updates them", async () => {
    const report = (service: string, status: HealthReport['status'], notes: string[] = []) =>
      gateway.nc.publish(
        healthSubject(service),
        encode(HealthReport, {
          v: 1,
          service,
          instanceId: `${service}-1`,
          version: '1.2.3',
          at: new Date().toISOString(),
          status,
          uptimeSec: 120,
          figures: { barsLastMinute: 4 },
          notes,
        }),
      );
    const page = await browser!.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`${http.url}/`);
    const row = (service: string) => page.locator(`#service-rows tr[data-service="${service}"]`);
    await row('watchdog').waitFor({ timeout: 5000 });
    expect(await row('watchdog').textContent()).toContain('0.0.1-test');

    // The executor keeps reporting; the strategy reports once and falls silent past SERVICE_DOWN_AFTER_MS.
    const executorReports = setInterval(() => report('executor', 'degraded', ['halted by a person']), 200);
    try {
      report('strategy', 'ok');
      await row('executor').and(page.locator('[data-status="degraded"]')).waitFor({ timeout: 5000 });
      expect(await row('executor').textContent()).toMatch(/1\.2\.3.*barsLastMinute 4.*halted by a person/);
      await row('strategy').and(page.locator('[data-status="ok"]')).waitFor({ timeout: 5000 });
      await row('strategy').and(page.locator('[data-status="down"]')).waitFor({ timeout: 10_000 });
      expect(await row('strategy').textContent()).toMatch(/DOWN — no health report for \d+ s \(service_down open\)/);
      expect(await row('market-gateway').getAttribute('data-status')).toMatch(/unknown|down/);
      expect(await row('executor').getAttribute('data-status')).toBe('degraded');
    } finally {
      clearInterval(executorReports);
    }

    positions.held = { SPY: 20 };
    positions.intradayPl = { SPY: -12.5 };
    account.orders = [{ id: 'o-1', symbol: 'AAPL', side: 'buy', qty: 5, limitPrice: 190.5 }];
    account.equity = 100_250.75;
    await page.locator('#held tr[data-symbol="SPY"]').waitFor({ timeout: 5000 });
    expect(await page.locator('#held tr[data-symbol="SPY"]').textContent()).toContain('−$12.50');
    await page.locator('#open-orders tr[data-id="o-1"]').waitFor({ timeout: 5000 });
    expect(await page.locator('#open-orders tr').textContent()).toMatch(/AAPL.*buy.*5.*limit.*190\.5/);
    await expect.poll(() => page.locator('#day-pl').textContent()).toBe('+$250.75');
    expect(await page.locator('#pl').textContent()).toMatch(/equity \$100250\.75 − \$100000\.00 at the last close/);
    await page.screenshot({ path: `${screenshots}watchdog-services-book.png`, fullPage: true });

    // A failed read shows unknown, not the last figures.
    account.fail = true;
    positions.fail = true;
    await expect.poll(() => page.locator('#day-pl').textContent()).toBe('unknown');
    await expect.poll(() => page.locator('#orders-state').textContent()).toBe('open orders UNKNOWN: the read failed');
    expect(await page.locator('#open-orders tr').count()).toBe(0);
    await expect.poll(() => page.locator('#held tr').count()).toBe(0);
    expect(await page.locator('#book').textContent()).toMatch(/positions UNKNOWN/);

    account.fail = false;
    positions.fail = false;
    account.orders = [];
    account.equity = 99_900;
    await expect.poll(() => page.locator('#day-pl').textContent()).toBe('−$100.00');
    await expect.poll(() => page.locator('#orders-state').textContent()).toBe('0 open');
    await page.locator('#held tr[data-symbol="SPY"]').waitFor({ timeout: 5000 });
    await page.close();
  });
});
