// The container path of startNats against a real Docker engine: skipped, with its reason, where none answers.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerEngineAnswers } from './docker-engine.js';
import { NATS_TEST_LABEL, startNatsContainer } from './nats-container.js';
import type { NatsServerHandle } from './nats-server.js';

const run = promisify(execFile);
// The run on the binary path (VIGIL_TEST_NATS=binary) leaves containers to `pnpm test:containers`.
const skip =
  process.env.VIGIL_TEST_NATS === 'binary'
    ? 'VIGIL_TEST_NATS=binary'
    : (await dockerEngineAnswers())
      ? null
      : 'no Docker engine answers';

describe.skipIf(skip !== null)(`a NATS server in a container${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsContainer({ extraConfig: 'max_payload: 65536' });
  });
  afterAll(async () => server?.cleanup());

  const containerIds = async () =>
    (await run('docker', ['ps', '-aq', '--filter', `label=${NATS_TEST_LABEL}=${process.pid}`])).stdout.trim();

  it('serves on a loopback port with the extra config applied', async () => {
    expect(server.kind).toBe('container');
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    const varz = (await (await fetch(`${server.monitorUrl}/varz`)).json()) as { max_payload: number };
    expect(varz.max_payload).toBe(65536);
  });

  it('keeps its port and its JetStream data across a kill and a start', async () => {
    let nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'KEEP', subjects: ['keep.>'] });
    await jetstream(nc).publish('keep.one', 'x');
    await nc.close();

    await server.stop({ kill: true });
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow();
    await server.start();

    nc = await connect({ servers: server.url });
    const info = await (await jetstreamManager(nc)).streams.info('KEEP');
    expect(info.state.messages).toBe(1);
    await nc.close();
  });

  it('answers nothing while paused, and again once resumed', async () => {
    const nc = await connect({ servers: server.url, pingInterval: 60_000 });
    await server.pause();
    const rtt = Promise.race([nc.rtt().then(() => 'answered'), new Promise((r) => setTimeout(r, 1500, 'silent'))]);
    expect(await rtt).toBe('silent');
    await server.resume();
    await expect(nc.rtt()).resolves.toBeGreaterThanOrEqual(0);
    await nc.close();
  });

  it('leaves no container behind after cleanup', async () => {
    expect(await containerIds()).not.toBe('');
    await server.cleanup();
    expect(await containerIds()).toBe('');
  });
});
