import WebSocket from 'ws';
import { parseFrame, type StreamMessage } from './alpaca-messages.js';
import type { Failure } from './reconnect-policy.js';

export interface FeedConnectionOptions {
  url: string;
  handshakeTimeoutMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  /** The largest frame accepted; a bigger one closes the connection (1009) and it reconnects. */
  maxFrameBytes?: number;
}

/**
 * Alpaca's frames are small (a bar is ~150 bytes, a subscription ack lists the symbols): 8 MiB is generous,
 * and far below ws's own 100 MiB default, which would let a broken or hostile peer make us buffer that much.
 */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

export interface FeedHandlers {
  onOpen(): void;
  onMessage(message: StreamMessage): void;
  /** A frame element that failed validation; the connection carries on. */
  onInvalid(problem: string): void;
  /** Called exactly once, whatever ended the connection. */
  onEnd(failure: Failure): void;
}

/**
 * One WebSocket connection to Alpaca's market-data stream, JSON-encoded. Owns the transport layer of
 * liveness: a handshake deadline (TCP, TLS and upgrade together) and a ping every `pingIntervalMs` that
 * must be answered within `pongTimeoutMs`, else the socket is terminated. Session and data liveness
 * belong to the supervisor.
 */
export class FeedConnection {
  private readonly ws: WebSocket;
  private ended = false;
  private handshakeTimer: NodeJS.Timeout;
  private pingTimer: NodeJS.Timeout | null = null;
  private pongTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly opts: FeedConnectionOptions,
    private readonly handlers: FeedHandlers,
  ) {
    // perMessageDeflate off: the SDK does the same, and inflate costs CPU on every frame.
    this.ws = new WebSocket(opts.url, {
      perMessageDeflate: false,
      maxPayload: opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    });
    // Our own deadline, not ws's handshakeTimeout: it covers TCP, TLS, the upgrade and a hang after it, and
    // its expiry needs no telling apart from other socket errors by their message text.
    this.handshakeTimer = setTimeout(() => this.end({ kind: 'handshake_timeout' }), opts.handshakeTimeoutMs);
    this.ws.on('open', () => {
      clearTimeout(this.handshakeTimer);
      this.schedulePing();
      handlers.onOpen();
    });
    this.ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    this.ws.on('pong', () => {
      if (this.pongTimer) clearTimeout(this.pongTimer);
      this.pongTimer = null;
      this.schedulePing();
    });
    this.ws.on('unexpected-response', (_req, res) => {
      const retryAfter = Number(res.headers['retry-after']);
      res.resume();
      this.end({
        kind: 'upgrade_rejected',
        status: res.statusCode ?? 0,
        retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : null,
      });
    });
    this.ws.on('error', (err) => this.end({ kind: 'socket_error', message: err.message }));
    this.ws.on('close', (code, reason) => this.end({ kind: 'closed', code, reason: reason.toString() }));
  }

  send(message: object): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  /**
   * End the connection now. The supervisor moves on at once; the socket itself is closed cleanly when the
   * peer may still be listening (see `closesCleanly`), else dropped.
   */
  terminate(failure: Failure): void {
    this.end(failure);
  }

  private receive(data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) {
      this.handlers.onInvalid('binary frame on a JSON connection');
      return;
    }
    const { messages, invalid } = parseFrame(data.toString());
    for (const problem of invalid) this.handlers.onInvalid(problem);
    for (const message of messages) {
      if (this.ended) return;
      this.handlers.onMessage(message);
    }
  }

  private schedulePing(): void {
    if (this.pingTimer) clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      if (this.ended) return;
      this.ws.ping();
      this.pongTimer = setTimeout(() => this.end({ kind: 'pong_timeout' }), this.opts.pongTimeoutMs);
    }, this.opts.pingIntervalMs);
  }

  private end(failure: Failure): void {
    if (this.ended) return;
    this.ended = true;
    for (const t of [this.handshakeTimer, this.pingTimer, this.pongTimer]) if (t) clearTimeout(t);
    this.ws.removeAllListeners('close');
    this.ws.removeAllListeners('message');
    this.ws.on('error', () => {});
    if (closesCleanly(failure) && this.ws.readyState === WebSocket.OPEN) {
      this.ws.close(1000, 'reconnecting');
      // A frozen peer never answers the close frame: drop the socket after a pong's worth of waiting.
      setTimeout(() => this.ws.terminate(), this.opts.pongTimeoutMs).unref();
    } else {
      this.ws.terminate();
    }
    this.handlers.onEnd(failure);
  }
}

/**
 * Whether to end with a close frame rather than dropping the socket. Alpaca holds a session that vanished
 * without one for about 90 s and answers reconnects with 406 meanwhile; a clean close frees the key at
 * once. Only worth it while the transport answers: a peer that missed its pong, a failed handshake or a
 * socket already gone would never see the frame.
 */
export function closesCleanly(failure: Failure): boolean {
  return (
    failure.kind === 'stale' ||
    failure.kind === 'commanded' ||
    failure.kind === 'auth_timeout' ||
    failure.kind === 'subscribe_timeout' ||
    failure.kind === 'alpaca_error'
  );
}
