// `./vigil start`: NATS, the simulator (unless Alpaca keys are set), the four services and one live
// status view, on this machine. The services get this shell's environment, except what the launcher sets
// (see planServices). Ctrl-C stops everything.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { DEFAULT_SYMBOLS, generateChaos, startSim, type Sim } from '@vigil/alpaca-sim';
import {
  alpacaConfig,
  envBool,
  envCertFile,
  envInt,
  envSymbols,
  findBinary,
  isAllSymbols,
  loadConfig,
  natsInboxPrefix,
  natsTlsOptions,
  spawnNatsServer,
  type NatsServerHandle,
} from '@vigil/service-kit';
import * as z from 'zod';
import {
  natsCredentials,
  natsServerEnv,
  natsStore,
  newNatsPasswords,
  overridden,
  planServices,
  type Mode,
  type NatsAuth,
} from './launcher/plan.js';
import { formatLoginFile, loginFilePath } from './launcher/login-file.js';
import { dieWithLauncher, ServiceProcess } from './launcher/processes.js';
import { StatusView } from './launcher/status-view.js';

const root = resolve(import.meta.dirname, '..');
const config = loadConfig(
  'vigil start',
  z.object({
    NATS_URL: z.string().min(1).optional(),
    NATS_USER: z.string().min(1).optional(),
    NATS_PASS: z.string().min(1).optional(),
    NATS_TLS_CA: envCertFile().optional(),
    APCA_API_KEY_ID: z.string().min(1).optional(),
    APCA_API_SECRET_KEY: z.string().min(1).optional(),
    // Read here only to say where real keys trade; the services get them with the rest of the environment.
    ALPACA_TRADING_URL: alpacaConfig.ALPACA_TRADING_URL,
    ALPACA_FEED: alpacaConfig.ALPACA_FEED,
    SYMBOLS: envSymbols(['SPY', 'AAPL', 'MSFT', 'QQQ'], { allowAll: true }),
    SIM_MINUTE_MS: envInt(2000, { min: 50 }),
    SIM_PORT: envInt(8070, { min: 0, max: 65535 }),
    SIM_CHAOS: envBool(true),
    LOG_LEVEL: z.string().default('info'),
  }),
);
const say = (line: string) => process.stderr.write(`[vigil] ${line}\n`);
// A reader that took the Ctrl-C too (`./vigil start | tee log`) closes the pipe; a write failing with EPIPE
// must not kill the launcher half-way through stopping the services.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

const logDir = join(root, '.vigil', 'logs');
mkdirSync(logDir, { recursive: true });

let nats: NatsServerHandle | null = null;
let natsDir: string | null = null;
let store: ReturnType<typeof natsStore> = { dir: null, keep: false };
let natsUrl = config.NATS_URL;
let auth: NatsAuth;
if (!natsUrl) {
  const binary = findBinary();
  if (!binary) {
    say(
      'nats-server is not installed: run `apt-get install nats-server` (Debian), or set NATS_URL to a running server.',
    );
    process.exit(1);
  }
  store = natsStore(root, Boolean(config.APCA_API_KEY_ID && config.APCA_API_SECRET_KEY));
  if (store.dir) mkdirSync(store.dir, { recursive: true });
  natsDir = store.dir ?? (await mkdtemp(join(tmpdir(), 'vigil-nats-')));
  // It listens on loopback without TLS: a CA from this shell would make the services demand TLS of it.
  if (process.env.NATS_TLS_CA) say('NATS_TLS_CA does not apply: the private nats-server speaks no TLS (loopback only)');
  delete process.env.NATS_TLS_CA;
  // One user per service with the permissions of infra/nats/auth.conf, passwords new for every run;
  // nats-server reads them from its environment, which it inherits from this process.
  const passwords = newNatsPasswords(randomBytes);
  Object.assign(process.env, natsServerEnv(passwords));
  auth = { kind: 'users', passwords };
  // Out of the terminal's process group, like the services: it stops last, after they have drained.
  nats = await spawnNatsServer(binary, {
    dir: natsDir,
    extraConfig: await readFile(join(root, 'infra', 'nats', 'auth.conf'), 'utf8'),
    detached: true,
    wrapper: dieWithLauncher,
  });
  natsUrl = nats.url;
  // The read-only login (nats CLI) and the commanding one (`./vigil ctl`), for people on this machine only.
  for (const user of ['ops', 'operator'] as const) {
    const { NATS_USER, NATS_PASS } = natsCredentials(auth, user);
    await writeFile(loginFilePath(root, user), formatLoginFile({ url: natsUrl, user: NATS_USER!, pass: NATS_PASS! }), {
      mode: 0o600,
    });
  }
  say(
    `started a private nats-server with JetStream at ${natsUrl} (data in ${natsDir}${store.keep ? ', kept across runs' : ', removed at stop'}), one user per service (infra/nats/auth.conf); read-only login for the nats CLI in ${loginFilePath(root, 'ops')} (with --inbox-prefix ${natsInboxPrefix('ops')}), commands by hand with ./vigil ctl (login in ${loginFilePath(root, 'operator')})`,
  );
} else {
  auth = config.NATS_USER ? { kind: 'shared', user: config.NATS_USER, pass: config.NATS_PASS ?? '' } : { kind: 'none' };
  say(`using the NATS server at ${natsUrl}${config.NATS_USER ? ` as user ${config.NATS_USER} for every service` : ''}`);
}

let sim: Sim | null = null;
let mode: Mode;
const paper = new URL(config.ALPACA_TRADING_URL).hostname.startsWith('paper-api.');
if (config.APCA_API_KEY_ID && config.APCA_API_SECRET_KEY) {
  mode = { kind: 'alpaca', keyId: config.APCA_API_KEY_ID, secret: config.APCA_API_SECRET_KEY };
  say(
    `Alpaca keys found: trading at ${config.ALPACA_TRADING_URL}${paper ? ' (paper)' : ' (NOT paper trading)'} on the ${config.ALPACA_FEED} feed.`,
  );
} else {
  const sessionMinutes = 390;
  sim = await startSim({
    port: config.SIM_PORT,
    // `*`: the gateway and executor take every symbol; the simulated market is its usual few.
    symbols: isAllSymbols(config.SYMBOLS) ? DEFAULT_SYMBOLS : config.SYMBOLS,
    clock: { msPerMinute: config.SIM_MINUTE_MS },
    // Alpaca holds a dead session ~90 s; at the demo's speed that is a few simulated minutes.
    zombieGraceMs: Math.round(1.5 * config.SIM_MINUTE_MS),
    serverPingIntervalMs: 2000,
    ...(config.SIM_CHAOS
      ? { chaos: generateChaos(7, sessionMinutes, 8, ['drop', 'stall', 'blackhole', 'malformed_frames', 'rest_error']) }
      : {}),
  });
  mode = { kind: 'sim', msPerMinute: config.SIM_MINUTE_MS, simUrl: sim.url, wsUrl: sim.wsUrl, ...sim.credentials };
  say(
    `no Alpaca keys: running on the simulator at ${sim.url} (one market minute = ${config.SIM_MINUTE_MS} ms${config.SIM_CHAOS ? ', with a mild chaos schedule' : ''}); fault API at ${sim.url}/sim`,
  );
}

const plans = planServices(mode, natsUrl, config.SYMBOLS, process.env, auth);
const replaced = overridden(process.env, plans);
say(
  `the services get this shell's environment (STRATEGY, SYMBOLS, risk limits, FLATTEN_POLICY, ALERT_WEBHOOK_URL...) except what the launcher sets: NATS_URL and the NATS logins, HTTP ports${mode.kind === 'sim' ? ", the simulator's keys and URLs" : ''}` +
    (replaced.length ? `; your ${replaced.join(', ')} ${replaced.length === 1 ? 'does' : 'do'} not apply` : ''),
);
const processes = plans.map((plan) => new ServiceProcess(plan, join(logDir, `${plan.name}.log`), () => {}));
for (const p of processes) p.start();
const watchdogUrl = `http://127.0.0.1:${plans.find((p) => p.name === 'watchdog')!.env.HTTP_PORT}/`;

const viewLogin = natsCredentials(auth, 'ops');
const nc = await connect({
  servers: natsUrl,
  name: 'vigil-status-view',
  // Its replies on _INBOX.<user>, as the services' (connectNats): the only inboxes auth.conf lets it read.
  ...(viewLogin.NATS_USER
    ? { user: viewLogin.NATS_USER, pass: viewLogin.NATS_PASS, inboxPrefix: natsInboxPrefix(viewLogin.NATS_USER) }
    : {}),
  ...natsTlsOptions(natsUrl, nats ? undefined : config.NATS_TLS_CA),
  maxReconnectAttempts: -1,
  waitOnFirstConnect: true,
});
const view = new StatusView(nc, {
  mode: mode.kind === 'sim' ? 'simulator' : paper ? 'Alpaca paper trading' : `Alpaca at ${config.ALPACA_TRADING_URL}`,
  watchdogUrl,
  logDir,
  processes,
  ...(sim ? { simClock: () => String(sim!.clockStatus().nowNy), brokerNow: () => sim!.clock.now() } : {}),
});
view.start();
say(`watchdog page: ${watchdogUrl}`);

let stopping = false;
async function stopAll(signal: string): Promise<void> {
  if (stopping) {
    say(`${signal}: already stopping (a service that does not stop gets SIGKILL after 12 s)`);
    return;
  }
  stopping = true;
  say(`${signal}: stopping services, simulator and NATS`);
  view.stop();
  // One at a time, watchdog first: it must not judge the gateway's silence, nor the executor trade, while the rest stop.
  for (const p of [...processes].reverse()) say(`${p.plan.name} stopped: ${await p.stop()}`);
  await nc.close().catch(() => {});
  await sim?.close();
  await nats?.cleanup();
  if (nats) for (const user of ['ops', 'operator'] as const) await rm(loginFilePath(root, user), { force: true });
  if (natsDir && !store.keep) await rm(natsDir, { recursive: true, force: true });
  say('stopped');
  process.exit(0);
}
process.on('SIGINT', () => void stopAll('SIGINT'));
process.on('SIGTERM', () => void stopAll('SIGTERM'));
// The children are out of the terminal's process group, so a closed terminal reaches only the launcher.
process.on('SIGHUP', () => void stopAll('SIGHUP'));
