// The `docker compose` CLI for one throwaway project of the repository's docker-compose.yml: its own project
// name, its own env file (passed as --env-file for interpolation and as VIGIL_ENV_FILE for the containers'
// env_file), and nothing from the caller's environment that could change what compose reads.
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const repoRoot = resolve(import.meta.dirname, '../..');

/**
 * Why no Docker engine can be used here, or null when `docker info` answers. Asked synchronously, once, so a
 * `describe.skipIf` can use it.
 */
export function dockerUnavailable(): string | null {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 15_000 });
    return null;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    const why = (e.stderr?.toString() || e.message).trim().split('\n')[0];
    return `no Docker engine answers \`docker info\` (${why})`;
  }
}

/**
 * The variables compose may see from this process: where the engine is and who we are, never a setting such as
 * NATS_PORT or COMPOSE_PROFILES a developer exported (the shell would win over --env-file).
 */
function engineEnv(envFile: string): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'USER', 'TMPDIR', 'DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'DOCKER_CERT_PATH'];
  const env: NodeJS.ProcessEnv = { VIGIL_ENV_FILE: envFile };
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
  return env;
}

/** `-p` of a test stack: the runner's pid in it, so a later run can tell a stack whose runner was killed. */
export function testProjectName(kind: string): string {
  return `vigil-ct-${kind}-${hostTag}-p${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** This host, in a project name: a pid means something only on the host whose process it was. */
const hostTag = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);

/**
 * Remove the test stacks (by `testProjectName`) whose runner process is gone from this host: a run killed by
 * a timeout never reaches its afterAll. A stack of a run still going (this one's or another's) is left alone.
 * Resolves to the projects removed.
 */
export async function reapOrphanedStacks(): Promise<string[]> {
  const label = 'com.docker.compose.project';
  const { stdout } = await run('docker', [
    'ps',
    '-a',
    '--filter',
    `label=${label}`,
    '--format',
    `{{.Label "${label}"}}`,
  ]);
  const orphans = [...new Set(stdout.split('\n'))].filter((name) => {
    const pid = new RegExp(`^vigil-ct-\\w+-${hostTag}-p(\\d+)-[0-9a-f]+$`).exec(name)?.[1];
    return pid !== undefined && !alive(Number(pid));
  });
  for (const project of orphans) {
    const filter = ['--filter', `label=${label}=${project}`];
    const ids = async (args: string[]) =>
      (await run('docker', [...args, ...filter, '-q'])).stdout.split('\n').filter(Boolean);
    const containers = await ids(['ps', '-a']);
    if (containers.length) await run('docker', ['rm', '-f', '-v', ...containers]);
    const networks = await ids(['network', 'ls']);
    if (networks.length) await run('docker', ['network', 'rm', ...networks]);
    const volumes = await ids(['volume', 'ls']);
    if (volumes.length) await run('docker', ['volume', 'rm', ...volumes]);
  }
  return orphans;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface Leftovers {
  containers: string[];
  networks: string[];
  volumes: string[];
}

export class ComposeStack {
  constructor(
    /** `-p`: unique per run, so a developer's own `vigil` stack is never touched. */
    readonly project: string,
    /** Absolute path of the settings file. */
    readonly envFile: string,
    readonly profiles: string[],
  ) {}

  /** `docker compose <args>` for this project; rejects with compose's stderr on a non-zero exit. */
  async compose(args: string[], timeoutMs = 120_000): Promise<string> {
    const base = ['compose', '-f', resolve(repoRoot, 'docker-compose.yml'), '--project-directory', repoRoot];
    base.push('-p', this.project, '--env-file', this.envFile, ...this.profiles.flatMap((p) => ['--profile', p]));
    try {
      const { stdout } = await run('docker', [...base, ...args], {
        cwd: repoRoot,
        env: engineEnv(this.envFile),
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`docker compose ${args.join(' ')} failed: ${(e.stderr || e.message).trim().slice(-2000)}`);
    }
  }

  /**
   * Build the image, start every container of the profiles (or only `services`), and wait until all `expected` are running and
   * healthy. Not `up --wait`: that gives up on the first crash of a service, and a service that exits on a
   * startup error is meant to be restarted (`restart: unless-stopped`), as compose then does.
   */
  async up(expected: number, timeoutMs = 420_000, services: string[] = []): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.compose(['up', '-d', '--build', ...services], timeoutMs);
    let last = '';
    while (Date.now() < deadline) {
      last = await this.ps().catch((e: Error) => e.message);
      const rows = last.split('\n').filter(Boolean);
      const healthy = rows.filter((r) => / running (healthy)?$/.test(r.trim()));
      if (rows.length >= expected && healthy.length === rows.length) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
    // What the ones that are not healthy said last (a service crashing at start says why).
    const sick = last
      .split('\n')
      .filter((r) => r && !/ running (healthy)?$/.test(r.trim()))
      .map((r) => r.split(' ')[0]!);
    const said = sick.length ? await this.compose(['logs', '--no-color', '--tail', '2', ...sick]).catch(() => '') : '';
    throw new Error(
      `${this.project}: not every container healthy within ${timeoutMs} ms:\n${last}\n${said.slice(-3000)}`,
    );
  }

  /** How many times each container was restarted by its restart policy. */
  async restarts(): Promise<Record<string, number>> {
    const ids = (await this.compose(['ps', '-a', '-q'])).split('\n').filter(Boolean);
    if (!ids.length) return {};
    const { stdout } = await run('docker', ['inspect', '--format', '{{.Name}} {{.RestartCount}}', ...ids]);
    return Object.fromEntries(
      stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/^\//, '').split(' '))
        .map(([name, n]) => [name ?? '', Number(n)]),
    );
  }

  /** Stop and remove the containers, the network and the volumes. Never throws: it runs in afterAll. */
  async down(): Promise<string | null> {
    try {
      await this.compose(['down', '-v', '--remove-orphans', '--timeout', '5'], 120_000);
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** `docker compose ps` as one line per container: name, state, health. */
  async ps(): Promise<string> {
    return this.compose(['ps', '-a', '--format', '{{.Service}} {{.State}} {{.Health}}']);
  }

  /** The last lines of every container's log, for a failing test's message. */
  async logs(tail = 40): Promise<string> {
    return this.compose(['logs', '--no-color', '--tail', String(tail)]).catch((e: Error) => e.message);
  }

  /** Containers, networks and volumes the engine still holds for this project (by compose's label). */
  async leftovers(): Promise<Leftovers> {
    const label = `label=com.docker.compose.project=${this.project}`;
    const list = async (args: string[]) =>
      (await run('docker', [...args, '--filter', label, '--format', '{{.Name}}'])).stdout.split('\n').filter(Boolean);
    const [containers, networks, volumes] = await Promise.all([
      // `docker ps` has no {{.Name}}: the names column.
      run('docker', ['ps', '-a', '--filter', label, '--format', '{{.Names}}']).then((r) =>
        r.stdout.split('\n').filter(Boolean),
      ),
      list(['network', 'ls']),
      list(['volume', 'ls']),
    ]);
    return { containers, networks, volumes };
  }
}
