import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { NatsServerError } from '../errors.js';
import type { NatsServerHandle } from '../nats-server-process.js';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

/** The image compose and Kubernetes run (docker-compose.yml); override with VIGIL_TEST_NATS_IMAGE. */
export const NATS_TEST_IMAGE = 'nats:2.10-alpine';
/** On every test server container, so a run that died before its cleanup can be swept (`./vigil test`). */
export const NATS_TEST_LABEL = 'org.vigil.test-nats';

const CONFIG_PATH = '/etc/nats/vigil-test.conf';

export interface NatsContainerOptions {
  jetstream?: boolean;
  /** Extra nats-server config appended verbatim; absolute host paths in quotes are mounted read-only. */
  extraConfig?: string;
}

/**
 * A nats-server in a container (testcontainers), with the same handle as the spawned binary: fixed host ports,
 * so `stop()`/`start()` bring it back where clients reconnect, with its JetStream store (the container is
 * stopped, not removed); `pause()` freezes it as SIGSTOP freezes the binary (the cgroup freezer).
 */
export async function startNatsContainer(opts: NatsContainerOptions = {}): Promise<NatsServerHandle> {
  // Loaded here: only a run that uses a container pays for testcontainers.
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  const port = await freePort();
  const monitorPort = await freePort();
  const config = [
    'listen: "0.0.0.0:4222"',
    'http: "0.0.0.0:8222"',
    `server_name: vigil_test_${process.pid}_${port}`,
    opts.jetstream === false ? '' : 'jetstream { store_dir: "/data/js" }',
    opts.extraConfig ?? '',
  ].join('\n');
  const image = process.env.VIGIL_TEST_NATS_IMAGE || NATS_TEST_IMAGE;

  const started = await new GenericContainer(image)
    .withCommand(['-c', CONFIG_PATH])
    .withCopyContentToContainer([{ content: config, target: CONFIG_PATH }])
    .withBindMounts(hostDirsIn(opts.extraConfig ?? '').map((dir) => ({ source: dir, target: dir, mode: 'ro' })))
    .withExposedPorts({ container: 4222, host: port }, { container: 8222, host: monitorPort })
    // nats-server reads `$NAME` in its config from its environment (auth.conf's passwords), as the binary does.
    .withEnvironment(configVariables(opts.extraConfig ?? ''))
    .withLabels({ [NATS_TEST_LABEL]: String(process.pid) })
    .withWaitStrategy(Wait.forHttp('/healthz', 8222).forStatusCode(200))
    .withStartupTimeout(60_000)
    .start()
    .catch((err: unknown) => {
      throw new NatsServerError(
        `could not start a ${image} container for the test's NATS server (${String(err)}). Where no image registry is reachable, the image must be present and TESTCONTAINERS_RYUK_DISABLED=true set (testcontainers' reaper image cannot be pulled); or set VIGIL_TEST_NATS=binary to use the nats-server binary`,
        { cause: err },
      );
    });

  const client = await getContainerRuntimeClient();
  const container = client.container.getById(started.getId());
  let running = true;
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;

  const stop = async (o: { kill?: boolean } = {}) => {
    if (!running) return;
    running = false;
    if (o.kill) await container.kill({ signal: 'SIGKILL' });
    else await container.stop({ t: 10 });
  };
  const start = async () => {
    if (running) return;
    await container.start();
    running = true;
    await waitFor(
      `the NATS container healthy again after a start (${monitorUrl}/healthz)`,
      () =>
        fetch(`${monitorUrl}/healthz`).then(
          (r) => r.ok,
          () => false,
        ),
      { timeoutMs: 30_000, intervalMs: 50 },
    );
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorUrl,
    kind: 'container',
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
    pause: () => container.pause(),
    resume: () => container.unpause(),
    cleanup: async () => {
      running = false;
      await container.remove({ force: true, v: true }).catch(() => {});
    },
  };
}

/** The variables a config reads (`$NAME`) that this process has, to hand the server. */
function configVariables(config: string): Record<string, string> {
  const names = new Set([...config.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!));
  return Object.fromEntries([...names].flatMap((n) => (process.env[n] === undefined ? [] : [[n, process.env[n]!]])));
}

/** Directories of the absolute host paths a config names in quotes (TLS certificates), to mount as they are. */
function hostDirsIn(config: string): string[] {
  const paths = [...config.matchAll(/"(\/[^"\n]+)"/g)].map((m) => m[1]!);
  return [...new Set(paths.filter((p) => existsSync(p)).map((p) => dirname(p)))];
}
