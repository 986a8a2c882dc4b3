import type { GatewayState } from '@vigil/contracts';
import { backoffDelay, type BackoffPolicy } from '@vigil/service-kit';

/** Why a connection ended or could not start. */
export type Failure =
  | { kind: 'closed'; code: number; reason: string }
  | { kind: 'socket_error'; message: string }
  | { kind: 'handshake_timeout' }
  | { kind: 'upgrade_rejected'; status: number; retryAfterMs: number | null }
  | { kind: 'alpaca_error'; code: number; msg: string }
  | { kind: 'pong_timeout' }
  | { kind: 'auth_timeout' }
  | { kind: 'subscribe_timeout' }
  | { kind: 'stale'; silentMs: number }
  | { kind: 'commanded'; reason: string };

export interface ReconnectPolicy extends BackoffPolicy {
  /** Steady retry pace while Alpaca still holds a dead session (406). */
  limitRetryMs: number;
  /** Slow retry pace for rejected keys (keys may be rotated; never hammer). */
  authRetryMs: number;
  /** Slow retry pace for a setup a person must fix (feed not in plan, symbol limit). */
  configRetryMs: number;
}

export interface ReconnectContext {
  /** The connection had reached streaming (a live feed was lost, not an attempt that failed). */
  wasStreaming: boolean;
  /** How long the failed attempt took, from its start to its failure; ignored for a streaming connection. */
  waitedMs?: number;
}

export interface ReconnectDecision {
  state: GatewayState;
  delayMs: number;
  /** Said once in the log and the heartbeat: what happened and what to do. */
  reason: string;
}

/**
 * What to do after `failure`, on the `attempt`-th consecutive failure (0-based). Never gives up: every
 * branch returns a delay. Pure, so each Alpaca failure mode is pinned by a unit test.
 *
 * A connection that was streaming and that we had to declare dead (silent, or no pong) is replaced at once,
 * whatever the attempt count: nothing refused us, and a backoff grown by earlier outages (the counter resets only
 * after a stable connection) would only lengthen the gap, by up to `maxMs`. Once per outage: if the new
 * connection fails, the backoff applies as usual. A close, a refusal or a 429 never qualifies.
 *
 * The backoff spaces the starts of attempts: time an attempt already spent waiting (a handshake, an auth or a
 * subscription that timed out) counts toward it. The pace of attempts against a server that keeps failing
 * is the same; only the dead time after a long wait goes.
 */
export function decideReconnect(
  failure: Failure,
  attempt: number,
  policy: ReconnectPolicy,
  random: () => number = Math.random,
  context: ReconnectContext = { wasStreaming: false },
): ReconnectDecision {
  const waitedMs = context.wasStreaming ? 0 : (context.waitedMs ?? 0);
  const backoff = (reason: string): ReconnectDecision => {
    const delayMs = Math.max(0, backoffDelay(policy, attempt, random) - waitedMs);
    return { state: 'backoff', delayMs, reason: waitedMs > 0 ? `${reason} after ${waitedMs} ms` : reason };
  };
  const declaredDead = (reason: string): ReconnectDecision =>
    context.wasStreaming
      ? { state: 'backoff', delayMs: 0, reason: `${reason}; replacing it at once` }
      : backoff(reason);
  switch (failure.kind) {
    case 'alpaca_error':
      return decideAlpacaError(failure.code, failure.msg, policy, backoff);
    case 'upgrade_rejected':
      if (failure.status === 429) {
        const delayMs = Math.max(failure.retryAfterMs ?? 0, backoffDelay(policy, attempt, random) - waitedMs);
        return {
          state: 'rate_limited',
          delayMs,
          reason: `HTTP 429 on the WebSocket upgrade; retrying in ${delayMs} ms as asked`,
        };
      }
      if (failure.status === 401 || failure.status === 403) {
        return {
          state: 'auth_failed',
          delayMs: policy.authRetryMs,
          reason: `HTTP ${failure.status} on upgrade: keys rejected; check APCA_API_KEY_ID/APCA_API_SECRET_KEY`,
        };
      }
      if (failure.status === 404) {
        return {
          state: 'config_error',
          delayMs: policy.configRetryMs,
          reason: 'HTTP 404 on upgrade: no such stream; check ALPACA_STREAM_URL and ALPACA_FEED',
        };
      }
      return backoff(`HTTP ${failure.status} on the WebSocket upgrade`);
    case 'closed':
      return backoff(`connection closed (${failure.code}${failure.reason ? ` ${failure.reason}` : ''})`);
    case 'socket_error':
      return backoff(`socket error: ${failure.message}`);
    case 'handshake_timeout':
      return backoff('WebSocket handshake timed out');
    case 'pong_timeout':
      return declaredDead('no pong to our ping: transport dead');
    case 'auth_timeout':
      return backoff('no reply to auth in time');
    case 'subscribe_timeout':
      return backoff('subscription not confirmed for every symbol, even after resubscribing');
    case 'stale':
      return declaredDead(`no market data for ${failure.silentMs} ms while the market is open`);
    case 'commanded':
      return { state: 'backoff', delayMs: 0, reason: `reconnect commanded: ${failure.reason}` };
  }
}

function decideAlpacaError(
  code: number,
  msg: string,
  policy: ReconnectPolicy,
  backoff: (r: string) => ReconnectDecision,
): ReconnectDecision {
  switch (code) {
    case 402:
      return {
        state: 'auth_failed',
        delayMs: policy.authRetryMs,
        reason: `Alpaca ${code} ${msg}: keys rejected; check APCA_API_KEY_ID/APCA_API_SECRET_KEY`,
      };
    case 406:
      return {
        state: 'limited',
        delayMs: policy.limitRetryMs,
        reason: `Alpaca 406 ${msg}: a previous session still holds this key (Alpaca keeps a dead session ~90 s); retrying every ${policy.limitRetryMs} ms`,
      };
    case 405:
      return {
        state: 'config_error',
        delayMs: policy.configRetryMs,
        reason: `Alpaca 405 ${msg}: too many symbols for this plan; reduce SYMBOLS`,
      };
    case 409:
      return {
        state: 'config_error',
        delayMs: policy.configRetryMs,
        reason: `Alpaca 409 ${msg}: this plan does not include the feed; set ALPACA_FEED=iex or upgrade the plan`,
      };
    case 410:
      return {
        state: 'config_error',
        delayMs: policy.configRetryMs,
        reason: `Alpaca 410 ${msg}: invalid endpoint for this feed; check ALPACA_STREAM_URL`,
      };
    default:
      return backoff(`Alpaca error ${code} ${msg}`);
  }
}
