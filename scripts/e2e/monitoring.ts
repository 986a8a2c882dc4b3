// Prometheus, promtool, Alertmanager and amtool from Debian's archive, run against infra/prometheus: the
// binaries, test copies of the configs (loopback targets, short intervals) and the two servers as children.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findBinary } from '@vigil/service-kit';
import { waitFor } from '@vigil/service-kit/testing';
import { parse, stringify } from 'yaml';

export const promDir = resolve(import.meta.dirname, '../../infra/prometheus');

/** The binary's path; throws (never skips) when it is not installed. */
export function requireBinary(name: 'prometheus' | 'promtool' | 'prometheus-alertmanager' | 'amtool'): string {
  const path = findBinary(name);
  if (!path)
    throw new Error(
      `${name} is not installed: run 'apt-get install prometheus prometheus-alertmanager' (./vigil test does it)`,
    );
  return path;
}

/** Runs a command-line tool to its end: its exit code and everything it printed. */
export function runTool(name: Parameters<typeof requireBinary>[0], args: string[]) {
  const bin = requireBinary(name);
  return new Promise<{ code: number; output: string }>((done) => {
    execFile(bin, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, output: `${stdout}${stderr}` });
    });
  });
}

// biome-ignore lint/suspicious/noExplicitAny: loosely typed YAML configs; the tools validate them.
type Obj = Record<string, any>;

/**
 * infra/prometheus/prometheus.yml with the services at `targets` (job → host:port), Alertmanager at
 * `alertmanager`, `rules` as its rule file, and scrapes and evaluations every second.
 */
export function testPrometheusConfig(targets: Record<string, string>, alertmanager: string, rules: string): string {
  const config = parse(readConfig('prometheus.yml')) as Obj;
  config.global.scrape_interval = '1s';
  config.global.evaluation_interval = '1s';
  config.rule_files = [rules];
  config.alerting.alertmanagers[0].static_configs[0].targets = [alertmanager];
  for (const job of config.scrape_configs as Obj[]) job.static_configs[0].targets = [targets[job.job_name]];
  return stringify(config);
}

/** rules.yml with every `for` at `pendingFor`: the test's minutes are seconds. */
export function testRules(pendingFor: string): string {
  const rules = parse(readConfig('rules.yml')) as Obj;
  for (const group of rules.groups as Obj[])
    for (const rule of group.rules as Obj[]) if (rule.for) rule.for = pendingFor;
  return stringify(rules);
}

/**
 * infra/prometheus/alertmanager.yml with its routing as committed, each receiver's URL at `urls` (receiver →
 * URL, placeholders and secret files replaced) and waits of a second.
 */
export function testAlertmanagerConfig(urls: Record<'pager' | 'chat' | 'deadman', string>): string {
  const config = parse(readConfig('alertmanager.yml')) as Obj;
  config.route.group_wait = '1s';
  config.route.group_interval = '1s';
  for (const route of config.route.routes as Obj[]) if (route.group_interval) route.group_interval = '1s';
  const receiver = (name: string): Obj => (config.receivers as Obj[]).find((r) => r.name === name)!;
  const pager = receiver('pager').pagerduty_configs[0];
  delete pager.routing_key_file;
  Object.assign(pager, { routing_key: 'test-routing-key', url: urls.pager });
  const chat = receiver('chat').slack_configs[0];
  delete chat.api_url_file;
  chat.api_url = urls.chat;
  receiver('deadman').webhook_configs[0].url = urls.deadman;
  return stringify(config);
}

function readConfig(file: string): string {
  return readFileSync(join(promDir, file), 'utf8');
}

export interface MonitoringProcess {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts `name` with `args`, its output to `logFile`, and resolves once `url`/-/ready answers 200.
 * stop() sends SIGTERM, then SIGKILL after 5 s.
 */
export async function startMonitoringProcess(
  name: 'prometheus' | 'prometheus-alertmanager',
  args: string[],
  url: string,
  logFile: string,
): Promise<MonitoringProcess> {
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(requireBinary(name), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    log.end();
  };
  try {
    await waitFor(
      `${name} ready at ${url} (log: ${logFile})`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}; see ${logFile}`);
        return fetch(`${url}/-/ready`).then(
          (r) => r.ok,
          () => false,
        );
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}
