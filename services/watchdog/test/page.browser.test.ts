import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Readiness, startHttpServer, type HttpServer } from '@vigil/service-kit';
import { startNats, type NatsServerHandle } from '@vigil/service-kit/testing';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusRoutes } from '../src/page.js';
import type { WatchdogStatus } from '../src/watchdog.js';
import { fakeBroker, fakeExecutor, fakeGateway, runWatchdog, type RunningWatchdog } from './harness.js';

const screenshots = fileURLToPath(new URL('../../../.vigil/screenshots/', import.meta.url));
let server: NatsServerHandle;
let browser: Browser | null = null;
let http: HttpServer;
let wd: RunningWatchdog;
let gateway: Awaited<ReturnType<typeof fakeGateway>>;
let executor: Awaited<ReturnType<typeof fakeExecutor>>;

beforeAll(async () => {
  server = await startNats({ own: true });
  gateway = await fakeGateway(server.url);
  executor = await fakeExecutor(server.url);
  wd = await runWatchdog(server.url, fakeBroker('open').source, { FLATTEN_POLICY: 'halt', FLATTEN_AFTER_MS: '1200', ALERT_COMMAND: 'cat > /dev/null' });
  // The same routes main.ts gives startService, on service-kit's HTTP server with the watchdog's metrics.
  http = await startHttpServer({ host: '127.0.0.1', port: 0, logger: wd.log.logger, metrics: wd.metrics, readiness: new Readiness(), routes: statusRoutes(() => wd.watchdog.status()) });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
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
    await expect.poll(async () => ((await (await fetch(`${http.url}/api/status`)).json()) as WatchdogStatus).barsPerMinute, { timeout: 5000 }).toBeGreaterThan(0);
    const metrics = await (await fetch(`${http.url}/metrics`)).text();
    for (const name of ['bars_per_minute', 'last_bar_age_seconds', 'gateway_up', 'reconnects_total', 'uptime_percent', 'open_alerts']) {
      expect(metrics).toContain(`vigil_watchdog_${name}`);
    }
    // Every metric the Grafana dashboard queries is one the watchdog exports.
    const dashboard = await readFile(new URL('../../../infra/grafana/watchdog-dashboard.json', import.meta.url), 'utf8');
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

    gateway.bars = false;
    await page.locator('#incident[data-state="open"]').waitFor({ timeout: 5000 });
    await page.locator('#alerts li[data-kind="no_bar"]').waitFor({ timeout: 5000 });
    await page.locator('#alerts li[data-kind="stale_halt"]').waitFor({ timeout: 5000 });
    expect(await page.locator('#incident').textContent()).toMatch(/STALE DATA/);
    await expect.poll(() => page.locator('#executor').textContent()).toBe('HALTED');
    await mkdir(screenshots, { recursive: true });
    await page.screenshot({ path: `${screenshots}watchdog-incident.png`, fullPage: true });

    gateway.bars = true;
    await page.locator('#alerts li[data-kind="resumed"][data-status="resolved"]').waitFor({ timeout: 5000 });
    await page.locator('#incident[data-state="fresh"]').waitFor({ timeout: 5000 });
    await expect.poll(() => page.locator('#executor').textContent()).toBe('trading');
    expect(await page.locator('#alerts li[data-kind="resumed"]').textContent()).toMatch(/stale for \d/);
    await page.screenshot({ path: `${screenshots}watchdog-resolved.png`, fullPage: true });
    await page.close();
  });
});
