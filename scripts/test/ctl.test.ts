// `./vigil ctl` end to end: the real entry point (scripts/ctl.ts, as the `vigil` script runs it) logs in as
// `operator` to a real nats-server running infra/nats/auth.conf, and talks to minimal responders registered
// as the gateway's and the executor's users (addCommandService, the services' own command plumbing). The
// executor's stand-in keeps its halt in its KV bucket as the executor does; the watchdog's user stores alerts.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  type Alert,
  commands,
  ensureStreams,
  ExecutorHaltState as HaltSchema,
  type GatewayHeartbeat,
  kvBuckets,
  NOT_HALTED,
  streams,
} from '@vigil/contracts';
import {
  addCommandService,
  commandEndpoint,
  KvJsonStore,
  Metrics,
  natsInboxPrefix,
  type Service,
} from '@vigil/service-kit';
import { captureLogger, startNats, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATS_USERS, natsServerEnv, newNatsPasswords, type NatsUser } from '../launcher/plan.js';

const root = resolve(import.meta.dirname, '../..');
const authConf = resolve(root, 'infra/nats/auth.conf');

let server: NatsServerHandle;
let passwords: Record<NatsUser, string>;
const conns: NatsConnection[] = [];
let executor: Service;
/** What the executor's stand-in was asked, in order. */
const asked: { command: string; by: string; reason: string; incidentId: string | undefined }[] = [];
/** Set to refuse resumes as the executor does when it cannot save the resume. */
let refuseResume: string | null = null;
/** Holds the gateway's reconnect unanswered until the test ends: a service that is stuck. */
let releaseReconnect: () => void = () => {};

async function as(user: NatsUser): Promise<NatsConnection> {
  const nc = await connect({
    servers: server.url,
    user: NATS_USERS[user].user,
    pass: passwords[user],
    inboxPrefix: natsInboxPrefix(NATS_USERS[user].user),
  });
  conns.push(nc);
  return nc;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `./vigil ctl <args>` as the `vigil` script runs it, as `operator` unless `env` says otherwise. */
function ctl(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--conditions=vigil-source', '--import', 'tsx', 'scripts/ctl.ts', ...args],
      {
        cwd: root,
        timeout: 30_000,
        env: {
          PATH: process.env.PATH ?? '',
          NATS_URL: server.url,
          NATS_USER: 'operator',
          NATS_PASS: passwords.operator,
          ...env,
        },
      },
      (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

const heartbeat: GatewayHeartbeat = {
  v: 1,
  service: 'market-gateway',
  instanceId: 'gw-ctl-test',
  seq: 1,
  sentAt: '2026-12-02T15:00:00.000Z',
  state: 'streaming',
  reason: 'subscription confirmed for every symbol',
  marketOpen: true,
  symbols: ['SPY'],
  connectedSince: '2026-12-02T14:30:00.000Z',
  lastMessageAt: '2026-12-02T15:00:00.000Z',
  lastBarAt: '2026-12-02T15:00:00.000Z',
  lastBarTBySymbol: { SPY: '2026-12-02T14:59:00.000Z' },
  barsLastMinute: 1,
  reconnects: 2,
  uptimePct: 100,
  polling: false,
  bufferedBars: 0,
  bufferFill: 0,
  audit: { lastAuditAt: null, missing: 0, revised: 0 },
  dataPath: 'live',
  dataPathSince: '2026-12-02T14:30:00.000Z',
  liveDownSince: null,
};

function alert(seq: number, incidentId: string | null, status: Alert['status'], kind: Alert['kind']): Alert {
  return {
    v: 1,
    id: `alert-${seq}`,
    kind,
    severity: status === 'open' ? 'critical' : 'info',
    status,
    incidentId,
    message: `${kind} ${status} ${incidentId ?? ''}`.trim(),
    at: new Date(Date.UTC(2026, 11, 2, 15, seq)).toISOString(),
    durationMs: status === 'resolved' ? 60_000 : null,
    details: {},
  };
}

beforeAll(async () => {
  passwords = newNatsPasswords(randomBytes);
  Object.assign(process.env, natsServerEnv(passwords));
  server = await startNats({ own: true, extraConfig: await readFile(authConf, 'utf8') });
  const { logger } = captureLogger();
  const metrics = new Metrics('ctl_test', { defaultMetrics: false });

  const gw = await as('market-gateway');
  const stuck = new Promise<void>((r) => {
    releaseReconnect = r;
  });
  await addCommandService({
    nc: gw,
    name: 'market-gateway',
    version: '0.0.1',
    description: 'stand-in',
    logger,
    metrics,
    endpoints: [
      commandEndpoint(commands.gatewayStatus, {
        handle: async () => ({ v: 1, ok: true, at: new Date().toISOString(), status: heartbeat }),
        invalid: (error) => ({ v: 1, ok: false, at: new Date().toISOString(), error, status: heartbeat }),
      }),
      commandEndpoint(commands.gatewayReconnect, {
        handle: async () => {
          await stuck;
          return { v: 1, ok: true, at: new Date().toISOString(), state: 'connecting' as const };
        },
        invalid: (error) => ({ v: 1, ok: false, at: new Date().toISOString(), error, state: 'streaming' as const }),
      }),
    ],
  });

  const ex = await as('executor');
  const halts = new KvJsonStore(
    await new Kvm(ex).create(kvBuckets.executorState.name, { history: kvBuckets.executorState.history }),
    HaltSchema,
  );
  let halt = NOT_HALTED;
  const reply = (ok: boolean, error?: string) => ({
    v: 1 as const,
    ok,
    at: new Date().toISOString(),
    ...(error ? { error } : {}),
    halt,
  });
  executor = await addCommandService({
    nc: ex,
    name: 'executor',
    version: '0.0.1',
    description: 'stand-in',
    logger,
    metrics,
    endpoints: [
      commandEndpoint(commands.executorHalt, {
        handle: async (req) => {
          asked.push({ command: 'halt', by: req.by, reason: req.reason, incidentId: req.incidentId });
          halt = {
            halted: true,
            since: new Date().toISOString(),
            reason: req.reason,
            incidentId: req.incidentId ?? null,
            by: req.by,
            flattened: false,
          };
          await halts.put('halt', halt);
          return reply(true);
        },
        invalid: (error) => reply(false, error),
      }),
      commandEndpoint(commands.executorResume, {
        handle: async (req) => {
          asked.push({ command: 'resume', by: req.by, reason: req.reason, incidentId: req.incidentId });
          if (refuseResume) return reply(false, refuseResume);
          halt = NOT_HALTED;
          await halts.put('halt', halt);
          return reply(true);
        },
        invalid: (error) => reply(false, error),
      }),
    ],
  });

  // The watchdog's alerts: incident A opened and resolved, B opened and escalated, one standalone.
  const wd = await as('watchdog');
  await ensureStreams(await jetstreamManager(wd), [streams.alerts]);
  const js = jetstream(wd);
  const stored = [
    alert(1, 'inc-A', 'open', 'no_bar'),
    alert(2, 'inc-B', 'open', 'no_bar'),
    alert(3, 'inc-A', 'resolved', 'resumed'),
    alert(4, null, 'info', 'reconnect'),
    alert(5, 'inc-B', 'open', 'stale_halt'),
  ];
  for (const a of stored) await js.publish(`alerts.${a.kind}`, JSON.stringify(a));
}, 30_000);

afterAll(async () => {
  releaseReconnect();
  for (const nc of conns) await nc.close();
  await server?.cleanup();
});

describe('./vigil ctl as operator (infra/nats/auth.conf)', () => {
  it('halts with a reason, as a person, and says how to resume', async () => {
    const run = await ctl(['halt', '--reason', 'fills look wrong', '--incident', 'inc-B']);
    expect(run.code, run.stderr).toBe(0);
    expect(asked.at(-1)).toEqual({ command: 'halt', by: 'person', reason: 'fills look wrong', incidentId: 'inc-B' });
    expect(run.stdout).toContain('halt: done');
    expect(run.stdout).toContain('HALTED');
    expect(run.stdout).toContain('./vigil ctl resume --incident inc-B');
  });

  it('shows the status: the gateway, the halt from the executor KV, the services on $SRV (and which are missing)', async () => {
    const run = await ctl(['status']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/gateway\s+streaming: subscription confirmed/);
    expect(run.stdout).toMatch(/executor\s+HALTED .* by person: fills look wrong, incident inc-B/);
    expect(run.stdout).toMatch(/market-gateway\s+up \(0\.0\.1/);
    expect(run.stdout).toMatch(/watchdog\s+NO ANSWER/);
    const json = JSON.parse((await ctl(['status', '--json'])).stdout);
    expect(json.gateway.status.instanceId).toBe('gw-ctl-test');
    expect(json.halt).toMatchObject({ halted: true, incidentId: 'inc-B' });
    expect(json.missing.sort()).toEqual(['strategy', 'watchdog']);
  });

  it('lists open incidents and the last alerts from the ALERTS stream', async () => {
    const incidents = await ctl(['incidents']);
    expect(incidents.code, incidents.stderr).toBe(0);
    expect(incidents.stdout).toContain('1 open incident(s)');
    expect(incidents.stdout).toContain('inc-B');
    expect(incidents.stdout).not.toContain('inc-A  opened');
    expect(incidents.stdout).toContain('no_bar → stale_halt');
    const json = JSON.parse((await ctl(['incidents', '--json'])).stdout);
    expect(json.incidents.map((i: { incidentId: string }) => i.incidentId)).toEqual(['inc-B']);
    expect(json).toMatchObject({ scanned: 5, complete: true, invalid: 0 });

    const alerts = JSON.parse((await ctl(['alerts', '--limit', '2', '--json'])).stdout);
    expect(alerts.alerts.map((a: Alert) => a.id)).toEqual(['alert-4', 'alert-5']);
  });

  it('exits 1 with the reason when the service refuses, and 0 once it accepts', async () => {
    refuseResume = 'still halted: the resume could not be saved';
    const refused = await ctl(['resume', '--incident', 'inc-B']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('resume REFUSED: still halted: the resume could not be saved');
    refuseResume = null;
    const run = await ctl(['resume', '--incident', 'inc-B', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, halt: { halted: false } });
    expect(asked.at(-1)).toEqual({
      command: 'resume',
      by: 'person',
      reason: 'resumed by hand for incident inc-B',
      incidentId: 'inc-B',
    });
  });

  it('exits 2 on a usage error without sending anything', async () => {
    const before = asked.length;
    const run = await ctl(['halt']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('halt requires --reason');
    expect(asked.length).toBe(before);
  });

  it('exits 4 when the service does not answer in time', async () => {
    const run = await ctl(['reconnect', '--timeout', '1000']);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('no reply on cmd.gateway.reconnect within 1000 ms');
  });

  it('exits 5 when the login is refused or the server is not there', async () => {
    const wrong = await ctl(['status'], { NATS_PASS: 'wrong' });
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).toContain('refused the login');
    const ops = await ctl(['halt', '--reason', 'r'], { NATS_USER: 'ops', NATS_PASS: passwords.ops });
    // ops logs in, but may not send a halt: refused by the server, never delivered.
    expect(ops.code).toBe(5);
    expect(ops.stderr).toContain('Permissions Violation for Publish to "cmd.executor.halt"');
    expect(ops.stderr).toContain('NATS_USER=operator');
    expect(asked.filter((a) => a.command === 'halt')).toHaveLength(1);
    const nowhere = await ctl(['status'], { NATS_URL: 'nats://127.0.0.1:1' });
    expect(nowhere.code).toBe(5);
    expect(nowhere.stderr).toContain('cannot connect to NATS at nats://127.0.0.1:1');
  });

  it('exits 3 when nobody answers: the executor is down', async () => {
    await executor.stop();
    const run = await ctl(['halt', '--reason', 'r']);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('nobody answers cmd.executor.halt');
  });
});
