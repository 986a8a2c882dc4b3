import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { closesCleanly, FeedConnection } from './feed-connection.js';
import type { Failure } from './reconnect-policy.js';

describe('closesCleanly', () => {
  it('sends a close frame when the peer still answers, so Alpaca frees the key instead of holding it ~90 s', () => {
    for (const kind of ['stale', 'auth_timeout', 'subscribe_timeout'] as const)
      expect(closesCleanly({ kind, silentMs: 1 } as never)).toBe(true);
    expect(closesCleanly({ kind: 'commanded', reason: 'reconnect command' })).toBe(true);
    expect(closesCleanly({ kind: 'alpaca_error', code: 500, msg: 'internal error' })).toBe(true);
  });
  it('just drops a socket whose peer would never see the frame', () => {
    expect(closesCleanly({ kind: 'pong_timeout' })).toBe(false);
    expect(closesCleanly({ kind: 'handshake_timeout' })).toBe(false);
    expect(closesCleanly({ kind: 'socket_error', message: 'ECONNRESET' })).toBe(false);
    expect(closesCleanly({ kind: 'closed', code: 1006, reason: '' })).toBe(false);
  });
});

describe('FeedConnection against a real WebSocket server', () => {
  it('refuses a frame over maxFrameBytes: the connection ends as a socket error and nothing is delivered', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    server.on('connection', (ws) =>
      ws.send(
        JSON.stringify([
          { T: 'success', msg: 'connected' },
          { T: 'b', S: 'SPY', pad: 'x'.repeat(200_000) },
        ]),
      ),
    );
    const { port } = server.address() as AddressInfo;
    const messages: unknown[] = [];
    const ended = await new Promise<Failure>((resolve) => {
      new FeedConnection(
        {
          url: `ws://127.0.0.1:${port}`,
          handshakeTimeoutMs: 2_000,
          pingIntervalMs: 10_000,
          pongTimeoutMs: 5_000,
          maxFrameBytes: 64 * 1024,
        },
        { onOpen: () => undefined, onMessage: (m) => messages.push(m), onInvalid: () => undefined, onEnd: resolve },
      );
    });
    await new Promise<void>((r) => server.close(() => r()));
    expect(ended).toMatchObject({ kind: 'socket_error', message: expect.stringMatching(/max payload/i) });
    expect(messages).toEqual([]);
  });
});
