// infra/prometheus checked by the real tools (promtool, amtool), and run: Prometheus and Alertmanager from
// Debian's archive scrape the running services and page a stopped gateway through Alertmanager's routing.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  type MonitoringProcess,
  promDir,
  requireBinary,
  runTool,
  startMonitoringProcess,
  testAlertmanagerConfig,
  testPrometheusConfig,
  testRules,
} from '../e2e/monitoring.js';
import { freePort } from '@vigil/service-kit/testing';
import { startSystem, type RunningSystem } from '../e2e/system.js';
import { prometheusRuleYaml } from '../prometheus-rule.js';

const root = resolve(import.meta.dirname, '../..');
const JOBS = ['market-gateway', 'strategy', 'executor', 'watchdog'] as const;

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: { exp_labels?: Record<string, string> }[];
}

const rulesText = await readFile(join(promDir, 'rules.yml'), 'utf8');
const rules = (parse(rulesText) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const ruleTests = (
  parse(await readFile(join(promDir, 'rules.test.yml'), 'utf8')) as { tests: { alert_rule_test: AlertTest[] }[] }
).tests.flatMap((t) => t.alert_rule_test);
const operations = await readFile(join(root, 'docs', 'operations.md'), 'utf8');

/** GitHub's anchor for a Markdown heading. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

/** The metric names a PromQL expression or a dashboard names (histogram series by their metric's name). */
function metricNames(text: string): string[] {
  const names = text.match(/\b(?:vigil|process|nodejs)_[a-z0-9_]+\b/g) ?? [];
  return [...new Set(names.map((n) => n.replace(/_(bucket|sum|count)$/, '')))];
}

describe('infra/prometheus, checked by promtool and amtool', () => {
  it('promtool accepts prometheus.yml and the rule file it names', async () => {
    const { code, output } = await runTool('promtool', ['check', 'config', join(promDir, 'prometheus.yml')]);
    expect(output).toContain('SUCCESS');
    expect(code, output).toBe(0);
  });

  it('promtool accepts rules.yml', async () => {
    const { code, output } = await runTool('promtool', ['check', 'rules', join(promDir, 'rules.yml')]);
    expect(code, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('passes rules.test.yml (promtool test rules)', async () => {
    const { code, output } = await runTool('promtool', ['test', 'rules', join(promDir, 'rules.test.yml')]);
    expect(code, output).toBe(0);
  });

  it('amtool accepts alertmanager.yml', async () => {
    const { code, output } = await runTool('amtool', ['check-config', join(promDir, 'alertmanager.yml')]);
    expect(code, output).toBe(0);
  });

  it('fails a rule that no longer does what its test says, and one that does not parse', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-rules-'));
    try {
      await cp(join(promDir, 'rules.test.yml'), join(dir, 'rules.test.yml'));
      const changed = rulesText.replace(
        'vigil_gateway_buffer_fill_ratio > 0.5',
        'vigil_gateway_buffer_fill_ratio > 0.7',
      );
      expect(changed).not.toBe(rulesText);
      await writeFile(join(dir, 'rules.yml'), changed);
      const tested = await runTool('promtool', ['test', 'rules', join(dir, 'rules.test.yml')]);
      expect(tested.code).not.toBe(0);
      expect(tested.output).toContain('VigilGatewayBufferFilling');

      await writeFile(join(dir, 'rules.yml'), rulesText.replace('expr: vector(1)', 'expr: vector(1'));
      const checked = await runTool('promtool', ['check', 'rules', join(dir, 'rules.yml')]);
      expect(checked.code).not.toBe(0);
      expect(checked.output).toContain('"Watchdog": could not parse expression');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each(rules.map((r) => [`${r.alert} (${r.labels.severity})`, r] as const))(
    '%s: tested firing with its labels and not firing',
    (_, rule) => {
      const cases = ruleTests.filter((t) => t.alertname === rule.alert);
      const fires = cases.some((t) =>
        t.exp_alerts.some((a) => Object.entries(rule.labels).every(([k, v]) => a.exp_labels?.[k] === v)),
      );
      expect(fires, `a case where ${rule.alert} fires with ${JSON.stringify(rule.labels)}`).toBe(true);
      // Watchdog is vector(1): it cannot not fire.
      if (rule.alert !== 'Watchdog')
        expect(
          cases.some((t) => t.exp_alerts.length === 0),
          `a case where ${rule.alert} does not fire`,
        ).toBe(true);
    },
  );

  it.each(rules.map((r) => [r.alert, r] as const))(
    '%s: a severity, a summary, a description and a runbook in docs/operations.md that explains it',
    (_, rule) => {
      expect(['critical', 'warning', 'info']).toContain(rule.labels.severity);
      expect(rule.annotations.summary).toBeTruthy();
      expect(rule.annotations.description).toBeTruthy();
      const [file, hash] = rule.annotations.runbook_url!.split('#') as [string, string];
      expect(file).toBe('docs/operations.md');
      const headings = [...operations.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!);
      const heading = headings.find((h) => anchor(h) === hash);
      expect(heading, `a heading with the anchor #${hash}`).toBeDefined();
      const section = operations.slice(operations.indexOf(`# ${heading}`)).split(/\n## /)[0]!;
      expect(section).toContain(`\`${rule.alert}\``);
    },
  );

  it('keeps infra/k8s/prometheus-rule.yaml what scripts/prometheus-rule.ts makes of rules.yml', async () => {
    const committed = await readFile(join(root, 'infra', 'k8s', 'prometheus-rule.yaml'), 'utf8');
    expect(committed, 'run: node --import tsx scripts/prometheus-rule.ts > infra/k8s/prometheus-rule.yaml').toBe(
      prometheusRuleYaml(rulesText),
    );
    const rule = parse(committed);
    expect(rule.spec.groups).toEqual(parse(rulesText).groups);
  });
});

/** A stand-in for PagerDuty, Slack and the dead man's switch: every request's path and JSON body. */
async function startReceiver() {
  const received: { path: string; body: unknown }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return { url, received, close };
}

describe('Prometheus and Alertmanager against the running services', () => {
  const logDir = resolve(root, '.vigil/e2e-prometheus');
  let system: RunningSystem | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  const servers: MonitoringProcess[] = [];
  let prometheus: MonitoringProcess;
  let work: string | undefined;

  beforeAll(async () => {
    // A missing binary fails here, before the system starts, with what to install.
    for (const bin of ['prometheus', 'prometheus-alertmanager'] as const) requireBinary(bin);
    receiver = await startReceiver();
    system = await startSystem({
      logDir,
      symbols: ['SPY', 'AAPL'],
      sparseSymbols: [],
      msPerMinute: 60_000,
      simStart: '2026-01-06T10:00:00-05:00',
      // A sink, so the watchdog registers its sink metrics (the rules and dashboards query them).
      env: { watchdog: { ALERT_WEBHOOK_URL: `${receiver.url}/watchdog-sink` } },
    });
    await system.ready(45_000);
    const [promPort, amPort] = await Promise.all([freePort(), freePort()]);
    work = await mkdtemp(join(tmpdir(), 'vigil-prometheus-'));
    await mkdir(join(work, 'am-data'));
    await writeFile(
      join(work, 'alertmanager.yml'),
      testAlertmanagerConfig({
        pager: `${receiver.url}/pager`,
        chat: `${receiver.url}/chat`,
        deadman: `${receiver.url}/deadman`,
      }),
    );
    servers.push(
      await startMonitoringProcess(
        'prometheus-alertmanager',
        [
          `--config.file=${join(work, 'alertmanager.yml')}`,
          `--storage.path=${join(work, 'am-data')}`,
          `--web.listen-address=127.0.0.1:${amPort}`,
          // No cluster: it would listen on every interface.
          '--cluster.listen-address=',
        ],
        `http://127.0.0.1:${amPort}`,
        join(logDir, 'alertmanager.log'),
      ),
    );
    await writeFile(join(work, 'rules.yml'), testRules('2s'));
    const targets = Object.fromEntries(JOBS.map((j) => [j, `127.0.0.1:${system!.ports[j]}`]));
    await writeFile(
      join(work, 'prometheus.yml'),
      testPrometheusConfig(targets, `127.0.0.1:${amPort}`, join(work, 'rules.yml')),
    );
    prometheus = await startMonitoringProcess(
      'prometheus',
      [
        `--config.file=${join(work, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(work, 'prom-data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        // Firing alerts go out again every second, not minute: the first send may beat Alertmanager's discovery.
        '--rules.alert.resend-delay=1s',
      ],
      `http://127.0.0.1:${promPort}`,
      join(logDir, 'prometheus.log'),
    );
    servers.push(prometheus);
  }, 90_000);

  afterAll(async () => {
    for (const s of servers.reverse()) await s.stop();
    await receiver?.close();
    await system?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  }, 30_000);

  const query = async (promql: string) => {
    const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    return body.data.result;
  };

  it('scrapes all four services, which export every metric the rules and the dashboards query', async () => {
    const up = await waitFor(
      'all four services scraped and up',
      async () => {
        const result = await query('up == 1');
        return result.length === JOBS.length && result;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    expect(up.map((r) => r.metric.service).sort()).toEqual([...JOBS].sort());

    const exported = new Set<string>();
    for (const job of JOBS) {
      const text = await (await fetch(`http://127.0.0.1:${system!.ports[job]}/metrics`)).text();
      for (const m of text.matchAll(/^# TYPE (\S+)/gm)) exported.add(m[1]!);
    }
    const grafana = join(root, 'infra', 'grafana');
    const dashboards = await Promise.all(
      (await readdir(grafana)).filter((f) => f.endsWith('.json')).map((f) => readFile(join(grafana, f), 'utf8')),
    );
    const queried = metricNames([rulesText, ...dashboards].join('\n'));
    expect(queried.length).toBeGreaterThan(20);
    expect(queried.filter((name) => !exported.has(name))).toEqual([]);
  });

  it("sends the always-firing Watchdog to the dead man's switch only", { timeout: 30_000 }, async () => {
    const beat = await waitFor(
      "Watchdog at the dead man's switch",
      () => receiver!.received.find((r) => r.path === '/deadman'),
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(beat.body).toMatchObject({ status: 'firing', commonLabels: { alertname: 'Watchdog' } });
    for (const r of receiver!.received.filter((x) => x.path !== '/deadman'))
      expect(JSON.stringify(r.body)).not.toContain('Watchdog');
  });

  it('pages a stopped gateway through the pager (PagerDuty) receiver', { timeout: 45_000 }, async () => {
    const gatewayPage = () =>
      receiver!.received.find(
        (r) =>
          r.path === '/pager' &&
          /alertname = (VigilServiceDown|VigilGatewayDown)/.test(JSON.stringify(r.body)) &&
          JSON.stringify(r.body).includes('market-gateway'),
      );
    expect(gatewayPage(), 'no gateway page while it runs').toBeUndefined();

    await system!.processes['market-gateway'].stop(10_000);
    const page = await waitFor('a gateway page at the pager receiver', gatewayPage, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    expect(page.body).toMatchObject({ event_action: 'trigger', routing_key: 'test-routing-key' });
    const down = await query('up{job="market-gateway"}');
    expect(down[0]?.value[1]).toBe('0');
  });
});
