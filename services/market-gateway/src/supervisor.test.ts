import { Metrics, type MarketPhase } from '@vigil/service-kit';
import { captureLogger } from '@vigil/service-kit/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StreamMessage } from './alpaca-messages.js';
import type { FeedHandlers } from './feed-connection.js';
import type { Failure } from './reconnect-policy.js';
import { AUTH_SENDS, FeedSupervisor, type SupervisorSettings } from './supervisor.js';

/** A stand-in for the WebSocket only: the supervisor's session and data logic is what runs for real. */
class FakeConnection {
  sent: Record<string, unknown>[] = [];
  ended: Failure | null = null;
  constructor(readonly handlers: FeedHandlers) {}
  send(m: object) {
    this.sent.push(m as Record<string, unknown>);
  }
  terminate(f: Failure) {
    if (this.ended) return;
    this.ended = f;
    this.handlers.onEnd(f);
  }
  push(...ms: StreamMessage[]) {
    for (const m of ms) this.handlers.onMessage(m);
  }
}

const settings: SupervisorSettings = {
  streamUrl: 'ws://127.0.0.1:1/v2/iex',
  keyId: 'key',
  secret: 'secret',
  symbols: ['SPY', 'AAPL'],
  canarySymbol: 'SPY',
  handshakeTimeoutMs: 1000,
  pingIntervalMs: 1000,
  pongTimeoutMs: 500,
  authTimeoutMs: 2000,
  subscribeTimeoutMs: 2000,
  staleAfterMs: 10_000,
  stableAfterMs: 30_000,
  policy: { initialMs: 1000, maxMs: 8000, limitRetryMs: 5000, authRetryMs: 60_000, configRetryMs: 60_000 },
};

function setup(phase: MarketPhase = 'open') {
  const conns: FakeConnection[] = [];
  const { logger, lines } = captureLogger();
  const subscribed = vi.fn();
  const bars: string[] = [];
  const metrics = new Metrics('gw', { defaultMetrics: false });
  let currentPhase = phase;
  const sup = new FeedSupervisor({
    settings,
    marketPhase: () => currentPhase,
    logger,
    metrics,
    onBar: (b) => bars.push(`${b.S}@${b.t}`),
    onSubscribed: subscribed,
    // Full jitter at its midpoint: a first retry waits 500 ms, never 0 (which would reconnect within a step).
    random: () => 0.5,
    connect: (_o, h) => {
      const c = new FakeConnection(h);
      conns.push(c);
      return c;
    },
  });
  const last = () => conns[conns.length - 1]!;
  /** The socket opens and Alpaca greets: the supervisor sends its auth. */
  const greet = () => {
    last().handlers.onOpen();
    last().push({ T: 'success', msg: 'connected' });
  };
  const handshake = () => {
    greet();
    last().push({ T: 'success', msg: 'authenticated' });
  };
  const ack = (bars: string[] = settings.symbols, trades: string[] = ['SPY']) =>
    last().push({ T: 'subscription', bars, trades });
  return {
    sup,
    conns,
    last,
    greet,
    handshake,
    ack,
    subscribed,
    bars,
    lines,
    metrics,
    setPhase: (p: MarketPhase) => (currentPhase = p),
  };
}

const trade = (): StreamMessage => ({ T: 't', S: 'SPY' });

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('FeedSupervisor', () => {
  it('authenticates on greeting, subscribes bars and the canary, and reports streaming', () => {
    const t = setup();
    t.sup.start();
    t.handshake();
    expect(t.last().sent[0]).toEqual({ action: 'auth', key: 'key', secret: 'secret' });
    expect(t.last().sent[1]).toEqual({
      action: 'subscribe',
      bars: ['SPY', 'AAPL'],
      updatedBars: ['SPY', 'AAPL'],
      trades: ['SPY'],
    });
    t.ack();
    expect(t.sup.status().state).toBe('streaming');
    expect(t.subscribed).toHaveBeenCalledOnce();
    t.sup.stop();
  });

  it('reconnects when auth gets no reply (the SDK would wait forever)', async () => {
    const t = setup();
    t.sup.start();
    t.greet();
    await vi.advanceTimersByTimeAsync(1999);
    expect(t.conns[0]!.ended).toBeNull();
    await vi.advanceTimersByTimeAsync(2);
    expect(t.conns[0]!.ended).toEqual({ kind: 'auth_timeout' });
    // The 2 s spent waiting already covers the 500 ms backoff: the next attempt starts at once.
    const backoff = t.lines().find((l) => l.msg === 'feed backoff');
    expect(backoff?.reason).toMatch(/^no reply to auth in time after 200\d ms; next attempt in 0 ms$/);
    expect(t.conns).toHaveLength(2);
    t.sup.stop();
  });

  it('sends an unanswered auth again within the auth timeout, and streams once a copy is answered', async () => {
    const t = setup();
    t.sup.start();
    t.greet();
    const auths = () => t.last().sent.filter((m) => m.action === 'auth').length;
    expect(auths()).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(auths()).toBe(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(auths()).toBe(AUTH_SENDS);
    t.last().push({ T: 'success', msg: 'authenticated' });
    t.ack();
    expect(t.sup.status().state).toBe('streaming');
    await vi.advanceTimersByTimeAsync(5000);
    expect(auths()).toBe(AUTH_SENDS);
    expect(t.conns).toHaveLength(1);
    expect(t.lines().filter((l) => l.msg === 'no reply to auth yet; sending it again')).toHaveLength(AUTH_SENDS - 1);
    t.sup.stop();
  });

  it('stops sending auth once the connection ends', async () => {
    const t = setup();
    t.sup.start();
    t.greet();
    t.last().terminate({ kind: 'closed', code: 1006, reason: '' });
    await vi.advanceTimersByTimeAsync(400);
    expect(t.conns[0]!.sent.filter((m) => m.action === 'auth')).toHaveLength(1);
    t.sup.stop();
  });

  it('resubscribes once on a partial ack, then reconnects if it is still partial', () => {
    const t = setup();
    t.sup.start();
    t.handshake();
    t.ack(['SPY']);
    expect(t.last().sent.filter((m) => m.action === 'subscribe')).toHaveLength(2);
    expect(t.sup.status().state).toBe('subscribing');
    t.ack(['SPY']);
    expect(t.conns[0]!.ended).toEqual({ kind: 'subscribe_timeout' });
    expect(t.subscribed).not.toHaveBeenCalled();
    t.sup.stop();
  });

  it('resubscribes once when no ack arrives at all', async () => {
    const t = setup();
    t.sup.start();
    t.handshake();
    await vi.advanceTimersByTimeAsync(2001);
    expect(t.last().sent.filter((m) => m.action === 'subscribe')).toHaveLength(2);
    t.ack();
    expect(t.sup.status().state).toBe('streaming');
    t.sup.stop();
  });

  it('reconnects a stream that stays up but delivers nothing while the market is open', async () => {
    const t = setup('open');
    t.sup.start();
    t.handshake();
    t.ack();
    t.last().push(trade());
    await vi.advanceTimersByTimeAsync(9_000);
    expect(t.conns[0]!.ended).toBeNull();
    await vi.advanceTimersByTimeAsync(2_500);
    expect(t.conns[0]!.ended?.kind).toBe('stale');
    t.sup.stop();
  });

  it('replaces a silent stream at once, then backs off as usual if the new connection fails', async () => {
    const t = setup('open');
    t.sup.start();
    for (let i = 0; i < 3; i++) {
      t.last().terminate({ kind: 'closed', code: 1006, reason: '' });
      await vi.advanceTimersByTimeAsync(10_000);
    }
    t.handshake();
    t.ack();
    const streaming = t.last();
    const before = t.conns.length;
    streaming.push(trade());
    // Stale after 10 s of silence, seen by the next 1 s tick; with the grown backoff the next try would be 4 s later.
    await vi.advanceTimersByTimeAsync(11_500);
    expect(streaming.ended?.kind).toBe('stale');
    expect(t.conns).toHaveLength(before + 1);
    // The replacement fails before streaming: the grown backoff applies again, no instant retry.
    t.last().terminate({ kind: 'closed', code: 1006, reason: '' });
    await vi.advanceTimersByTimeAsync(3_000);
    expect(t.conns).toHaveLength(before + 1);
    t.sup.stop();
  });

  it('stays quiet on a silent stream while the market is closed', async () => {
    const t = setup('closed');
    t.sup.start();
    t.handshake();
    t.ack();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.conns[0]!.ended).toBeNull();
    expect(t.sup.status().state).toBe('streaming');
    t.sup.stop();
  });

  it('holds a steady pace through a 406 lock-out and logs each transition with its reason', async () => {
    const t = setup();
    t.sup.start();
    for (let i = 0; i < 4; i++) {
      t.greet();
      t.last().push({ T: 'error', code: 406, msg: 'connection limit exceeded' });
      expect(t.sup.status().state).toBe('limited');
      await vi.advanceTimersByTimeAsync(4_999);
      expect(t.conns).toHaveLength(i + 1);
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(t.conns).toHaveLength(5);
    const limited = t.lines().filter((l) => l.msg === 'feed limited');
    expect(limited).toHaveLength(4);
    expect(String(limited[0]!.reason)).toMatch(/406/);
    expect(await t.metrics.registry.metrics()).toMatch(
      /vigil_gateway_reconnects_total\{cause="alpaca_406",service="gw"\} 4/,
    );
    // Four refused attempts are one outage that never streamed: no reconnect in the heartbeat's sense.
    expect(t.sup.status().reconnects).toBe(0);
    t.sup.stop();
  });

  it('resets the backoff only after data has flowed for a while, not on a bare auth', async () => {
    const t = setup();
    t.sup.start();
    for (let i = 0; i < 3; i++) {
      t.last().terminate({ kind: 'closed', code: 1006, reason: '' });
      await vi.advanceTimersByTimeAsync(10_000);
    }
    expect(t.sup.status().attempt).toBe(3);
    t.handshake();
    t.ack();
    expect(t.sup.status().attempt).toBe(3);
    for (let i = 0; i < 35; i++) {
      t.last().push(trade());
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(t.sup.status().attempt).toBe(0);
    t.sup.stop();
  });

  it('treats rejected keys as auth_failed and waits minutes, not seconds', async () => {
    const t = setup();
    t.sup.start();
    t.last().handlers.onOpen();
    t.last().push({ T: 'error', code: 402, msg: 'auth failed' });
    expect(t.sup.status().state).toBe('auth_failed');
    await vi.advanceTimersByTimeAsync(59_000);
    expect(t.conns).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(t.conns).toHaveLength(2);
    t.sup.stop();
  });

  it('reconnects at once on command, even while waiting out a backoff', async () => {
    const t = setup();
    t.sup.start();
    t.last().push({ T: 'error', code: 402, msg: 'auth failed' });
    t.sup.forceReconnect('keys rotated');
    expect(t.conns).toHaveLength(2);
    t.handshake();
    t.ack();
    t.sup.forceReconnect('watchdog: no bar');
    expect(t.conns[1]!.ended).toEqual({ kind: 'commanded', reason: 'watchdog: no bar' });
    expect(t.sup.status().reconnects).toBe(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.conns).toHaveLength(3);
    t.sup.stop();
  });

  it('hands bars on and keeps the connection on a harmless 403', () => {
    const t = setup();
    t.sup.start();
    t.handshake();
    t.ack();
    t.last().push({ T: 'b', S: 'SPY', o: 1, h: 1, l: 1, c: 1, v: 1, n: 1, t: '2026-11-27T15:31:00Z' });
    t.last().push({ T: 'error', code: 403, msg: 'already authenticated' });
    expect(t.bars).toEqual(['SPY@2026-11-27T15:31:00Z']);
    expect(t.conns[0]!.ended).toBeNull();
    t.sup.stop();
  });
});
