import { NatsServerError } from '../errors.js';
import { findBinary, spawnNatsServer, type NatsServerHandle } from '../nats-server-process.js';
import { dockerEngineAnswers } from './docker-engine.js';
import { startNatsContainer } from './nats-container.js';
import { chooseNatsSource } from './nats-source.js';

export type { NatsServerHandle };

export interface StartNatsOptions {
  jetstream?: boolean;
  /** Extra nats-server config appended verbatim (users, permissions, limits). */
  extraConfig?: string;
  /** Ignore NATS_URL: the test needs to stop and restart its own server. */
  own?: boolean;
}

const INSTALL_HINT =
  'no NATS server for tests: install nats-server (Debian: apt-get install nats-server), start a Docker engine (the tests then run nats:2.10-alpine through testcontainers), or set NATS_URL to a running server with JetStream';

/**
 * A real nats-server for a test (see `chooseNatsSource`): a container through testcontainers whenever a Docker
 * engine answers, the `nats-server` binary otherwise (a random loopback port, JetStream in a temp dir);
 * VIGIL_TEST_NATS=container|binary forces one; NATS_URL serves tests that need no server of their own.
 */
export async function startNats(opts: StartNatsOptions = {}): Promise<NatsServerHandle> {
  const binary = findBinary();
  const forced = process.env.VIGIL_TEST_NATS || undefined;
  const source = chooseNatsSource({
    forced,
    natsUrl: process.env.NATS_URL,
    needsOwn: Boolean(opts.own || opts.extraConfig),
    engineAnswers: forced ? false : await dockerEngineAnswers(),
    binaryFound: binary !== null,
  });
  switch (source) {
    case 'external':
      return externalHandle(process.env.NATS_URL!);
    case 'container':
      return startNatsContainer(opts);
    case 'binary':
      if (!binary) throw new NatsServerError(`VIGIL_TEST_NATS=binary, but ${INSTALL_HINT}`);
      return spawnNatsServer(binary, opts);
    default:
      throw new NatsServerError(INSTALL_HINT);
  }
}

function externalHandle(url: string): NatsServerHandle {
  const refuse = async () => {
    throw new NatsServerError(
      `cannot stop, restart or pause the server at NATS_URL=${url}; unset NATS_URL so the test starts its own`,
    );
  };
  return {
    url,
    port: Number(new URL(url.replace(/^nats:/, 'http:')).port || 4222),
    monitorUrl: null,
    kind: 'external',
    stop: refuse,
    start: refuse,
    restart: refuse,
    pause: refuse,
    resume: async () => {},
    cleanup: async () => {},
  };
}
