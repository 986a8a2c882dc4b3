import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NatsServerError } from './errors.js';

export interface NatsServerHandle {
  /** `nats://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Monitoring endpoint (`/varz`, `/jsz`, `/connz`), or null for an external server. */
  monitorUrl: string | null;
  /** Where it came from: a spawned binary, a container (tests, testcontainers), or the server named by NATS_URL. */
  kind: 'binary' | 'container' | 'external';
  /** Stop the server (SIGTERM, or SIGKILL with `{ kill: true }`); its JetStream data stays for `start()`. */
  stop(opts?: { kill?: boolean }): Promise<void>;
  /** Start it again on the same port with the same JetStream store. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Freeze the server (SIGSTOP, or the container's freezer): it holds its sockets but answers nothing, as a hung server does. */
  pause(): Promise<void>;
  /** Thaw a paused server (SIGCONT). */
  resume(): Promise<void>;
  /** Stop it and delete its temp dir. */
  cleanup(): Promise<void>;
}

export interface SpawnNatsOptions {
  jetstream?: boolean;
  /** Extra nats-server config appended verbatim (users, permissions, limits). */
  extraConfig?: string;
  /** Fixed client port; default a random free one. */
  port?: number;
  /** Keep JetStream data here (default: a temp dir removed by `cleanup()`). */
  dir?: string;
  /**
   * Run it in its own process group, so a terminal's Ctrl-C reaches only the caller, which stops it once its
   * clients have drained (`./vigil start`); by itself it would exit on the same Ctrl-C, before they drain.
   */
  detached?: boolean;
  /** A command to run nats-server under, e.g. `setpriv --pdeathsig SIGTERM` so it cannot outlive the caller. */
  wrapper?: string[];
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Where `name` is installed: PATH, then the sbin directories Debian's package uses (absent from a user's PATH). */
export function findBinary(name = 'nats-server'): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

/**
 * Spawn a private nats-server on 127.0.0.1 (random port unless given) with JetStream in a temp dir.
 * Used by the test harness and by `./vigil start` when no NATS_URL is given.
 */
export async function spawnNatsServer(binary: string, opts: SpawnNatsOptions = {}): Promise<NatsServerHandle> {
  const ownDir = !opts.dir;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'vigil-nats-')));
  const confPath = join(dir, 'nats.conf');
  let port = opts.port ?? -1;
  let monitorPort = -1;
  let child: ChildProcess | null = null;
  let output = '';

  const writeConfig = () =>
    writeFile(
      confPath,
      [
        `listen: "127.0.0.1:${port}"`,
        `http: "127.0.0.1:${monitorPort}"`,
        `ports_file_dir: "${dir}"`,
        `server_name: vigil_test_${process.pid}`,
        opts.jetstream === false ? '' : `jetstream { store_dir: "${join(dir, 'js')}" }`,
        opts.extraConfig ?? '',
      ].join('\n'),
    );

  const start = async () => {
    if (child) return;
    await writeConfig();
    output = '';
    const [command, ...args] = [...(opts.wrapper ?? []), binary, '-c', confPath];
    const proc = spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
    proc.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    proc.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    child = proc;
    const ports = await waitForPorts(dir, proc, () => output);
    port = ports.nats;
    monitorPort = ports.monitoring;
    await waitForHealthy(monitorPort, () => output);
  };

  const stop = async (o: { kill?: boolean } = {}) => {
    const proc = child;
    if (!proc) return;
    child = null;
    if (proc.exitCode === null) {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill(o.kill ? 'SIGKILL' : 'SIGTERM');
      await exited;
    }
    // A stale ports file would make the next start() read the old ports.
    for (const f of await readdir(dir)) if (f.endsWith('.ports')) await rm(join(dir, f), { force: true });
  };

  const signal = (sig: 'SIGSTOP' | 'SIGCONT') => {
    if (!child) throw new Error(`nats-server is not running: cannot send it ${sig}`);
    child.kill(sig);
  };

  await start();
  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get monitorUrl() {
      return `http://127.0.0.1:${monitorPort}`;
    },
    kind: 'binary',
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
    pause: async () => signal('SIGSTOP'),
    resume: async () => signal('SIGCONT'),
    cleanup: async () => {
      await stop();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPorts(
  dir: string,
  proc: ChildProcess,
  output: () => string,
): Promise<{ nats: number; monitoring: number }> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null)
      throw new NatsServerError(`nats-server exited with code ${proc.exitCode}: ${output().trim()}`);
    const file = (await readdir(dir)).find((f) => f === `nats-server_${proc.pid}.ports`);
    if (file) {
      const text = await readFile(join(dir, file), 'utf8').catch(() => '');
      try {
        const parsed = JSON.parse(text) as { nats: string[]; monitoring: string[] };
        const nats = Number(new URL(parsed.nats[0]!.replace(/^nats:/, 'http:')).port);
        const monitoring = Number(new URL(parsed.monitoring[0]!).port);
        return { nats, monitoring };
      } catch {
        // Partly written; read again.
      }
    }
    await sleep(20);
  }
  throw new NatsServerError(`nats-server did not report its ports within 10 s: ${output().trim()}`);
}

async function waitForHealthy(monitorPort: number, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${monitorPort}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(25);
  }
  throw new NatsServerError(`nats-server did not become healthy within 10 s: ${output().trim()}`);
}
