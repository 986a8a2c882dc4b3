import { describe, expect, it } from 'vitest';
import { closesCleanly } from './feed-connection.js';

describe('closesCleanly', () => {
  it('sends a close frame when the peer still answers, so Alpaca frees the key instead of holding it ~90 s', () => {
    for (const kind of ['stale', 'auth_timeout', 'subscribe_timeout'] as const) expect(closesCleanly({ kind, silentMs: 1 } as never)).toBe(true);
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
