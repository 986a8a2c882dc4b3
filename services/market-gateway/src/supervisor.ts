import type { GatewayState } from '@vigil/contracts';
import type { Logger, MarketPhase, Metrics } from '@vigil/service-kit';
import type { StreamMessage, StreamSubscription } from './alpaca-messages.js';
import { FeedConnection, type FeedConnectionOptions, type FeedHandlers } from './feed-connection.js';
import { type FeedMetrics, feedMetrics } from './feed-metrics.js';
import { isDataStale, isStable, missingFromSubscription } from './liveness.js';
import { decideReconnect, type Failure, type ReconnectPolicy } from './reconnect-policy.js';

export type StreamBar = Extract<StreamMessage, { T: 'b' | 'u' }>;

/** How many times an unanswered auth is sent on one connection, spread over its auth timeout. */
export const AUTH_SENDS = 4;

export interface SupervisorSettings extends Omit<FeedConnectionOptions, 'url'> {
  streamUrl: string;
  keyId: string;
  secret: string;
  symbols: string[];
  /** Liquid symbol whose trades prove that data flows (IEX has no bar for a minute without trades). */
  canarySymbol: string;
  authTimeoutMs: number;
  subscribeTimeoutMs: number;
  staleAfterMs: number;
  /** Data must flow this long before the backoff attempt counter resets. */
  stableAfterMs: number;
  policy: ReconnectPolicy;
}

export interface SupervisorDeps {
  settings: SupervisorSettings;
  marketPhase: () => MarketPhase;
  logger: Logger;
  metrics: Metrics;
  onBar: (bar: StreamBar) => void;
  /** Every (re)subscription confirmed for all symbols: time to backfill the gap. */
  onSubscribed: () => void;
  onStateChange?: (state: GatewayState, reason: string) => void;
  now?: () => number;
  /** Backoff jitter source (Math.random); tests pin it. */
  random?: () => number;
  connect?: (opts: FeedConnectionOptions, handlers: FeedHandlers) => Pick<FeedConnection, 'send' | 'terminate'>;
}

/**
 * Owns the feed: connects, authenticates, subscribes, and watches the session and data layers of
 * liveness on top of the connection's transport layer. Any failure goes through `decideReconnect`,
 * so it reconnects forever, at a pace that fits the failure.
 */
export class FeedSupervisor {
  private state: GatewayState = 'starting';
  private reason = 'not started';
  private attempt = 0;
  private conn: Pick<FeedConnection, 'send' | 'terminate'> | null = null;
  private sessionTimer: NodeJS.Timeout | null = null;
  private authResendTimer: NodeJS.Timeout | null = null;
  private attemptStartedAt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private livenessTimer: NodeJS.Timeout | null = null;
  private resubscribed = false;
  private streamingSince: number | null = null;
  private lastDataAt: number | null = null;
  private lastBarAt: number | null = null;
  private reconnectCount = 0;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly m: FeedMetrics;

  constructor(private readonly deps: SupervisorDeps) {
    this.now = deps.now ?? Date.now;
    this.log = deps.logger.child({ component: 'feed' });
    this.m = feedMetrics(deps.metrics, () => this.state);
  }

  start(): void {
    const tick = Math.max(50, Math.min(1000, Math.floor(this.deps.settings.staleAfterMs / 4)));
    this.livenessTimer = setInterval(() => this.checkLiveness(), tick);
    this.connectNow();
  }

  stop(): void {
    for (const t of [this.sessionTimer, this.reconnectTimer]) if (t) clearTimeout(t);
    this.stopAuthResends();
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    const conn = this.conn;
    this.conn = null;
    conn?.terminate({ kind: 'commanded', reason: 'gateway stopping' });
    this.setState('stopped', 'gateway stopping');
  }

  /** Drop the current connection (or skip the wait) and connect again now. */
  forceReconnect(reason: string): void {
    if (this.conn) {
      this.conn.terminate({ kind: 'commanded', reason });
      return;
    }
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.log.info({ reason }, 'reconnect commanded while disconnected; connecting now');
    this.connectNow();
  }

  status() {
    return {
      state: this.state,
      reason: this.reason,
      reconnects: this.reconnectCount,
      attempt: this.attempt,
      lastDataAt: this.lastDataAt,
      lastBarAt: this.lastBarAt,
      streamingSince: this.streamingSince,
    };
  }

  private connectNow(): void {
    this.reconnectTimer = null;
    this.resubscribed = false;
    this.attemptStartedAt = this.now();
    this.setState('connecting', `connecting to ${this.deps.settings.streamUrl}`);
    const { streamUrl, handshakeTimeoutMs, pingIntervalMs, pongTimeoutMs, maxFrameBytes } = this.deps.settings;
    const connect = this.deps.connect ?? ((o, h) => new FeedConnection(o, h));
    let conn: Pick<FeedConnection, 'send' | 'terminate'> | null = null;
    conn = connect(
      {
        url: streamUrl,
        handshakeTimeoutMs,
        pingIntervalMs,
        pongTimeoutMs,
        ...(maxFrameBytes ? { maxFrameBytes } : {}),
      },
      {
        onOpen: () => {
          this.setState('authenticating', 'connected; waiting for Alpaca to greet and authenticate');
          this.armSessionTimer(this.deps.settings.authTimeoutMs, { kind: 'auth_timeout' });
        },
        onMessage: (m) => this.onMessage(m),
        onInvalid: (problem) => {
          this.m.invalid.inc();
          this.log.warn({ problem }, 'invalid message from Alpaca ignored');
        },
        onEnd: (failure) => {
          if (this.conn === conn) this.onEnd(failure);
        },
      },
    );
    this.conn = conn;
  }

  private onMessage(m: StreamMessage): void {
    this.m.messages.inc({ type: m.T });
    switch (m.T) {
      case 'success':
        if (m.msg === 'connected') this.authenticate();
        else if (m.msg === 'authenticated') {
          this.stopAuthResends();
          this.subscribe('authenticated');
        }
        return;
      case 'subscription':
        return this.onSubscription(m);
      case 'error':
        return this.onAlpacaError(m.code, m.msg);
      case 'b':
      case 'u':
        this.lastDataAt = this.lastBarAt = this.now();
        this.deps.onBar(m);
        return;
      default:
        this.lastDataAt = this.now();
    }
  }

  /**
   * Session layer: an auth left unanswered is sent again, `AUTH_SENDS` times in all within the auth timeout,
   * before the connection is given up. A server that recovers answers on this connection, several round trips
   * sooner than a new one would; an answer to an earlier copy makes a later one a harmless 403.
   */
  private authenticate(): void {
    const { keyId, secret, authTimeoutMs } = this.deps.settings;
    const send = () => this.conn?.send({ action: 'auth', key: keyId, secret });
    send();
    let sends = 1;
    this.stopAuthResends();
    this.authResendTimer = setInterval(
      () => {
        if (sends >= AUTH_SENDS) return this.stopAuthResends();
        sends += 1;
        this.m.authResends.inc();
        this.log.warn({ sends }, 'no reply to auth yet; sending it again');
        send();
      },
      Math.floor(authTimeoutMs / AUTH_SENDS),
    );
  }

  private stopAuthResends(): void {
    if (this.authResendTimer) clearInterval(this.authResendTimer);
    this.authResendTimer = null;
  }

  private subscribe(why: string): void {
    const { symbols, canarySymbol } = this.deps.settings;
    this.setState(
      'subscribing',
      `${why}; subscribing to bars for ${symbols.includes('*') ? 'every symbol (*)' : `${symbols.length} symbols`} and ${canarySymbol} trades`,
    );
    this.conn?.send({ action: 'subscribe', bars: symbols, updatedBars: symbols, trades: [canarySymbol] });
    this.armSessionTimer(this.deps.settings.subscribeTimeoutMs, null);
  }

  private onSubscription(ack: StreamSubscription): void {
    if (this.state === 'streaming') return;
    const missing = missingFromSubscription(ack, this.deps.settings.symbols, this.deps.settings.canarySymbol);
    if (missing.length > 0) {
      this.retrySubscribe(`subscription ack lacks ${missing.join(', ')}`);
      return;
    }
    this.clearSessionTimer();
    this.streamingSince = this.now();
    this.setState('streaming', 'subscription confirmed for every symbol');
    this.deps.onSubscribed();
  }

  /** Session layer: resubscribe once, then give up on this connection. */
  private retrySubscribe(why: string): void {
    if (this.resubscribed) {
      this.conn?.terminate({ kind: 'subscribe_timeout' });
      return;
    }
    this.resubscribed = true;
    this.m.resubscribes.inc();
    this.log.warn({ why }, 'resubscribing once');
    this.subscribe(why);
  }

  private onAlpacaError(code: number, msg: string): void {
    this.m.alpacaErrors.inc({ code: String(code) });
    // 403 "already authenticated" is harmless; 400 means we sent something malformed, a bug to report, not a reason to drop data.
    if (code === 403 || code === 400) {
      this.log.warn({ code, msg }, 'Alpaca rejected a message; connection kept');
      return;
    }
    this.conn?.terminate({ kind: 'alpaca_error', code, msg });
  }

  private armSessionTimer(ms: number, failure: Failure | null): void {
    this.clearSessionTimer();
    this.sessionTimer = setTimeout(() => {
      if (failure) this.conn?.terminate(failure);
      else this.retrySubscribe(`no subscription ack within ${ms} ms`);
    }, ms);
  }

  private clearSessionTimer(): void {
    if (this.sessionTimer) clearTimeout(this.sessionTimer);
    this.sessionTimer = null;
  }

  /** Data layer, plus the stable-connection check that resets the backoff. */
  private checkLiveness(): void {
    if (this.state !== 'streaming' || this.streamingSince === null) return;
    const now = this.now();
    const phase = this.deps.marketPhase();
    const verdict = isDataStale({
      now,
      phase,
      streamingSince: this.streamingSince,
      lastDataAt: this.lastDataAt,
      staleAfterMs: this.deps.settings.staleAfterMs,
    });
    if (verdict.stale) {
      this.conn?.terminate({ kind: 'stale', silentMs: verdict.silentMs });
      return;
    }
    if (
      this.attempt > 0 &&
      isStable({
        now,
        streamingSince: this.streamingSince,
        lastDataAt: this.lastDataAt,
        stableAfterMs: this.deps.settings.stableAfterMs,
      })
    ) {
      this.log.info({ attempts: this.attempt }, 'connection stable and delivering data; backoff reset');
      this.attempt = 0;
    }
  }

  private onEnd(failure: Failure): void {
    // `reconnects` counts outages (a streaming connection lost), not attempts: 40 retries through one
    // 406 lock-out are one reconnect, so the watchdog's flap rule means what it says.
    const wasStreaming = this.state === 'streaming';
    if (wasStreaming) this.reconnectCount += 1;
    if ((failure.kind === 'pong_timeout' || failure.kind === 'stale') && this.streamingSince !== null) {
      const lastEvidence = Math.max(this.streamingSince, this.lastDataAt ?? 0);
      this.m.detection.observe({ cause: failure.kind }, (this.now() - lastEvidence) / 1000);
    }
    this.conn = null;
    this.clearSessionTimer();
    this.stopAuthResends();
    this.streamingSince = null;
    const decision = decideReconnect(failure, this.attempt, this.deps.settings.policy, this.deps.random, {
      wasStreaming,
      waitedMs: this.now() - this.attemptStartedAt,
    });
    if (failure.kind !== 'commanded') this.attempt += 1;
    this.m.reconnects.inc({ cause: failure.kind === 'alpaca_error' ? `alpaca_${failure.code}` : failure.kind });
    this.setState(decision.state, `${decision.reason}; next attempt in ${decision.delayMs} ms`);
    if (this.state === 'stopped') return;
    this.reconnectTimer = setTimeout(() => this.connectNow(), decision.delayMs);
  }

  private setState(state: GatewayState, reason: string): void {
    if (this.state === 'stopped') return;
    const from = this.state;
    this.state = state;
    this.reason = reason;
    this.m.transitions.inc({ state });
    const level =
      state === 'auth_failed' || state === 'config_error'
        ? 'error'
        : state === 'streaming' || state === 'connecting' || state === 'authenticating' || state === 'subscribing'
          ? 'info'
          : 'warn';
    this.log[level]({ from, to: state, reason, attempt: this.attempt }, `feed ${state}`);
    this.deps.onStateChange?.(state, reason);
  }
}
