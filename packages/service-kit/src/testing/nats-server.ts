import { existsSync } from 'node:fs';
import { NatsServerError } from '../errors.js';
import { findBinary, spawnNatsServer, type NatsServerHandle } from '../nats-server-process.js';

export type { NatsServerHandle };

export interface StartNatsOptions {
  jetstream?: boolean;
  /** Extra nats-server config appended verbatim (users, permissions, limits). */
  extraConfig?: string;
  /** Ignore NATS_URL: the test needs to stop and restart its own server. */
  own?: boolean;
}

const INSTALL_HINT =
  'no NATS server for tests: install nats-server (Debian: apt-get install nats-server), or set NATS_URL to a running server with JetStream';

/**
 * A real nats-server for a test. Preference: an explicit NATS_URL; the `nats-server` binary (spawned on a
 * random loopback port with JetStream in a temp dir); otherwise fail with one line saying how to get one.
 */
export async function startNats(opts: StartNatsOptions = {}): Promise<NatsServerHandle> {
  const external = process.env.NATS_URL;
  if (external && !opts.own && !opts.extraConfig) return externalHandle(external);
  const binary = findBinary();
  if (binary) return spawnNatsServer(binary, opts);
  if (dockerReachable()) {
    throw new NatsServerError(
      `${INSTALL_HINT}. A Docker engine is reachable: testcontainers (@testcontainers/nats@11.11.0) could provide one, but this harness needs a server it can stop and restart on the same port, which a container's random port mapping does not give`,
    );
  }
  throw new NatsServerError(INSTALL_HINT);
}

function dockerReachable(): boolean {
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

function externalHandle(url: string): NatsServerHandle {
  const refuse = async () => {
    throw new NatsServerError(`cannot stop or restart the server at NATS_URL=${url}; unset NATS_URL so the test starts its own`);
  };
  return {
    url,
    port: Number(new URL(url.replace(/^nats:/, 'http:')).port || 4222),
    monitorUrl: null,
    kind: 'external',
    stop: refuse,
    start: refuse,
    restart: refuse,
    cleanup: async () => {},
  };
}

