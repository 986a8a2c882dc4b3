// The whole system as `./vigil start` runs it: a private nats-server with the infra/nats users, the
// simulator, and the four services as child processes under the launcher's supervision. For the end-to-end
// test and benchmark.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startSim, type Sim, type SimOptions } from '@vigil/alpaca-sim';
import { Alert, Bar, decodeOn, decodeStored, Signal, streams } from '@vigil/contracts';
import { natsInboxPrefix } from '@vigil/service-kit';
import { freePort, startNats, type NatsServerHandle } from '@vigil/service-kit/testing';
import {
  natsCredentials,
  natsServerEnv,
  newNatsPasswords,
  planServices,
  portVariable,
  type NatsAuth,
  type ServicePlan,
} from '../launcher/plan.js';
import { ServiceProcess } from '../launcher/processes.js';
import type * as z from 'zod';

const root = resolve(import.meta.dirname, '../..');

export interface SystemOptions {
  /** Where each service's log goes (one file per service); kept after the run for a failing test. */
  logDir: string;
  symbols: string[];
  sparseSymbols: string[];
  msPerMinute: number;
  simStart: string;
  /** Simulator settings beyond the above (cash, REST budget, ...). */
  sim?: Partial<SimOptions>;
  /** Per-service settings on top of the launcher's demo thresholds. */
  env: Partial<Record<ServicePlan['name'], Record<string, string>>>;
}

export interface RunningSystem {
  sim: Sim;
  nats: NatsServerHandle;
  /** The operators' connection (user `ops`): reads streams and collects alerts. */
  ops: NatsConnection;
  jsm: JetStreamManager;
  processes: Record<ServicePlan['name'], ServiceProcess>;
  ports: Record<ServicePlan['name'], number>;
  alerts: Alert[];
  /** Resolves once every service answers `/readyz` with 200. */
  ready(timeoutMs: number): Promise<void>;
  /** Stops the services (SIGTERM), then the simulator and NATS. Resolves to how each service ended. */
  stop(): Promise<Record<string, string | null>>;
}

export async function startSystem(opts: SystemOptions): Promise<RunningSystem> {
  await rm(opts.logDir, { recursive: true, force: true });
  await mkdir(opts.logDir, { recursive: true });

  const passwords = newNatsPasswords(randomBytes);
  Object.assign(process.env, natsServerEnv(passwords));
  const auth: NatsAuth = { kind: 'users', passwords };
  const nats = await startNats({
    own: true,
    extraConfig: await readFile(join(root, 'infra', 'nats', 'auth.conf'), 'utf8'),
  });

  const sim = await startSim({
    symbols: opts.symbols,
    sparseSymbols: opts.sparseSymbols,
    clock: { start: opts.simStart, msPerMinute: opts.msPerMinute },
    // Alpaca holds a dead session ~90 s: a minute and a half of the accelerated market.
    zombieGraceMs: Math.round(1.5 * opts.msPerMinute),
    serverPingIntervalMs: 1000,
    // Alpaca's budget is 200 requests per real minute, and the services pace their polls in market minutes;
    // with market minutes this short, the budget is scaled the same way or every poll would be refused.
    restRateLimit: Math.round((200 * 60_000) / opts.msPerMinute),
    ...opts.sim,
  });

  const names = ['market-gateway', 'strategy', 'executor', 'watchdog'] as const;
  const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()]))) as Record<
    ServicePlan['name'],
    number
  >;
  const portEnv = Object.fromEntries(names.map((n) => [portVariable(n), String(ports[n])]));
  const mode = {
    kind: 'sim' as const,
    msPerMinute: opts.msPerMinute,
    simUrl: sim.url,
    wsUrl: sim.wsUrl,
    ...sim.credentials,
  };
  // The services' own REST budgets shrink their minute with the market's, like the simulator's above.
  const restBudget = { ALPACA_REST_RATE_LIMIT: String(Math.round((190 * 60_000) / opts.msPerMinute)) };
  const plans = planServices(mode, nats.url, opts.symbols, { LOG_LEVEL: 'info', ...portEnv }, auth).map((p) => ({
    ...p,
    env: { ...p.env, ...restBudget, ...opts.env[p.name] },
  }));
  const processes = Object.fromEntries(
    plans.map((p) => [p.name, new ServiceProcess(p, join(opts.logDir, `${p.name}.log`), () => {})]),
  ) as RunningSystem['processes'];
  for (const p of Object.values(processes)) p.start();

  const login = natsCredentials(auth, 'ops');
  const ops = await connect({
    servers: nats.url,
    name: 'e2e-ops',
    user: login.NATS_USER,
    pass: login.NATS_PASS,
    // auth.conf lets ops read replies on _INBOX.ops.> only.
    inboxPrefix: natsInboxPrefix(login.NATS_USER),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  const alerts: Alert[] = [];
  const sub = ops.subscribe('alerts.>');
  void (async () => {
    for await (const m of sub) {
      const alert = decodeOn(Alert, m.subject, m.data);
      if (alert.ok) alerts.push(alert.value);
    }
  })();

  return {
    sim,
    nats,
    ops,
    jsm: await jetstreamManager(ops),
    processes,
    ports,
    alerts,
    async ready(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (const name of names) {
        for (;;) {
          const ok = await fetch(`http://127.0.0.1:${ports[name]}/readyz`).then(
            (r) => r.ok,
            () => false,
          );
          if (ok) break;
          if (Date.now() > deadline)
            throw new Error(`${name} not ready within ${timeoutMs} ms; see ${opts.logDir}/${name}.log`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    async stop() {
      const ended: Record<string, string | null> = {};
      for (const name of [...names].reverse()) ended[name] = await processes[name].stop(10_000);
      sub.unsubscribe();
      await ops.close().catch(() => {});
      await sim.close();
      await nats.cleanup();
      return ended;
    },
  };
}

/**
 * Every message of a stream, by sequence (the `ops` user may read streams but not create consumers), decoded
 * as `schema` on its subject; one that does not decode fails the read.
 */
export async function readStream<S extends z.ZodType>(
  ops: NatsConnection,
  stream: string,
  schema: S,
): Promise<z.infer<S>[]> {
  type T = z.infer<S>;
  const jsm = await jetstreamManager(ops);
  const { first_seq: first, last_seq: last, messages } = (await jsm.streams.info(stream)).state;
  if (messages === 0) return [];
  const seqs = Array.from({ length: last - first + 1 }, (_, i) => first + i);
  const out: (T | null)[] = [];
  for (let i = 0; i < seqs.length; i += 64) {
    const batch = seqs.slice(i, i + 64).map((seq) =>
      jsm.streams.getMessage(stream, { seq }).then(
        (m) => (m ? decodeStored(schema, m) : null),
        () => null,
      ),
    );
    out.push(...(await Promise.all(batch)));
  }
  return out.filter((m): m is T => m !== null);
}

export const readBars = (ops: NatsConnection) => readStream(ops, streams.bars.name, Bar);
export const readSignals = (ops: NatsConnection) => readStream(ops, streams.signals.name, Signal);

/** Each JSON log line of a service's log file whose message is `msg`. */
export async function logLines(
  logDir: string,
  service: ServicePlan['name'],
  msg: string,
): Promise<Record<string, unknown>[]> {
  const text = await readFile(join(logDir, `${service}.log`), 'utf8');
  return text.split('\n').flatMap((line) => {
    if (!line.includes(msg)) return [];
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      return parsed.msg === msg ? [parsed] : [];
    } catch {
      return [];
    }
  });
}
