import { describe, expect, it } from 'vitest';
import { decideReconnect, type ReconnectPolicy } from './reconnect-policy.js';

const policy: ReconnectPolicy = {
  initialMs: 1000,
  maxMs: 30_000,
  limitRetryMs: 10_000,
  authRetryMs: 300_000,
  configRetryMs: 300_000,
};
const mid = () => 0.5;

describe('decideReconnect', () => {
  it('backs off exponentially with jitter for transport failures, and never gives up', () => {
    const delays = [0, 1, 2, 3, 4, 5, 10, 1000].map(
      (a) => decideReconnect({ kind: 'pong_timeout' }, a, policy, mid).delayMs,
    );
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    expect(decideReconnect({ kind: 'closed', code: 1006, reason: '' }, 1000, policy, () => 1).delayMs).toBe(30_000);
  });

  it('replaces a streaming connection declared dead at once, whatever the attempt count; nothing else', () => {
    const streaming = { wasStreaming: true };
    for (const failure of [{ kind: 'pong_timeout' as const }, { kind: 'stale' as const, silentMs: 31_000 }]) {
      const d = decideReconnect(failure, 9, policy, mid, streaming);
      expect(d).toMatchObject({ state: 'backoff', delayMs: 0 });
      expect(d.reason).toMatch(/replacing it at once/);
      // Not streaming (a new connection that went silent): the usual backoff.
      expect(decideReconnect(failure, 9, policy, mid).delayMs).toBe(15_000);
    }
    // A close or a refusal of a streaming connection is the server's word: back off as usual.
    expect(decideReconnect({ kind: 'closed', code: 1012, reason: '' }, 9, policy, mid, streaming).delayMs).toBe(15_000);
    expect(
      decideReconnect({ kind: 'upgrade_rejected', status: 429, retryAfterMs: 1000 }, 9, policy, mid, streaming).delayMs,
    ).toBe(15_000);
  });

  it('counts the time a failed attempt spent waiting toward its backoff', () => {
    const authTimeout = { kind: 'auth_timeout' as const };
    // Attempt 3: 4000 ms at the jitter's midpoint.
    expect(decideReconnect(authTimeout, 3, policy, mid, { wasStreaming: false, waitedMs: 1500 })).toMatchObject({
      delayMs: 2500,
      reason: 'no reply to auth in time after 1500 ms',
    });
    expect(decideReconnect(authTimeout, 3, policy, mid, { wasStreaming: false, waitedMs: 5000 }).delayMs).toBe(0);
    // A lost stream's age is not a wait: a close after an hour of streaming backs off in full.
    const closed = { kind: 'closed' as const, code: 1012, reason: '' };
    expect(decideReconnect(closed, 3, policy, mid, { wasStreaming: true, waitedMs: 3_600_000 }).delayMs).toBe(4000);
    // A 429's Retry-After is the server's word, never shortened.
    const limited = { kind: 'upgrade_rejected' as const, status: 429, retryAfterMs: 3000 };
    expect(decideReconnect(limited, 3, policy, mid, { wasStreaming: false, waitedMs: 2000 }).delayMs).toBe(3000);
  });

  it('retries a 406 at a steady pace and reports the lock-out', () => {
    for (const attempt of [0, 5, 50]) {
      const d = decideReconnect(
        { kind: 'alpaca_error', code: 406, msg: 'connection limit exceeded' },
        attempt,
        policy,
        mid,
      );
      expect(d).toMatchObject({ state: 'limited', delayMs: 10_000 });
      expect(d.reason).toMatch(/90 s/);
    }
  });

  it('honours Retry-After on a 429 upgrade, but never waits less than the backoff', () => {
    expect(
      decideReconnect({ kind: 'upgrade_rejected', status: 429, retryAfterMs: 20_000 }, 0, policy, mid),
    ).toMatchObject({
      state: 'rate_limited',
      delayMs: 20_000,
    });
    expect(decideReconnect({ kind: 'upgrade_rejected', status: 429, retryAfterMs: null }, 3, policy, mid).delayMs).toBe(
      4000,
    );
  });

  it('retries rejected keys only every few minutes', () => {
    const d = decideReconnect({ kind: 'alpaca_error', code: 402, msg: 'auth failed' }, 0, policy, mid);
    expect(d).toMatchObject({ state: 'auth_failed', delayMs: 300_000 });
    expect(d.reason).toMatch(/APCA_API_KEY_ID/);
  });

  it('turns plan and endpoint errors into config_error with an actionable message', () => {
    expect(
      decideReconnect({ kind: 'alpaca_error', code: 409, msg: 'insufficient subscription' }, 0, policy).reason,
    ).toMatch(/ALPACA_FEED=iex/);
    expect(decideReconnect({ kind: 'alpaca_error', code: 405, msg: 'symbol limit exceeded' }, 0, policy).state).toBe(
      'config_error',
    );
    expect(
      decideReconnect({ kind: 'alpaca_error', code: 410, msg: 'invalid subscribe action for this feed' }, 0, policy)
        .state,
    ).toBe('config_error');
  });

  it('reconnects at once when commanded', () => {
    expect(decideReconnect({ kind: 'commanded', reason: 'watchdog: no bar for 120 s' }, 7, policy)).toMatchObject({
      delayMs: 0,
    });
  });
});
