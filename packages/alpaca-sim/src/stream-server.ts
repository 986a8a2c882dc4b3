import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { FaultSpec } from './faults.js';
import { header } from './http-util.js';
import type { MarketTick } from './market.js';
import { Session, type SessionContext } from './session.js';

export const FEEDS = ['/v2/iex', '/v2/sip', '/v2/delayed_sip', '/v2/test'] as const;
/** Frames above this close the socket with 1009, as `ws` does; Alpaca's own limit is not documented. */
const MAX_PAYLOAD = 1 << 20;

export interface StreamServerOptions {
  serverPingIntervalMs: number;
  zombieGraceMs: number;
}

/**
 * The market-data WebSocket endpoint: upgrade handling (and its faults), the live sessions, the server's
 * pings, and reaping of sessions that stopped answering them.
 */
export class StreamServer {
  private readonly wss = new WebSocketServer({
    noServer: true,
    autoPong: false,
    perMessageDeflate: false,
    maxPayload: MAX_PAYLOAD,
  });
  readonly sessions = new Set<Session>();
  private readonly hung = new Set<Duplex>();
  private readonly pinger: NodeJS.Timeout | undefined;
  readonly stats = { upgrades: 0, rejectedUpgrades: 0, reaped: 0 };

  constructor(
    private readonly ctx: SessionContext,
    private readonly opts: StreamServerOptions,
  ) {
    if (opts.serverPingIntervalMs > 0) {
      this.pinger = setInterval(() => this.pingAndReap(), opts.serverPingIntervalMs);
      this.pinger.unref();
    }
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://sim').pathname;
    const faults = this.ctx.faults;
    socket.on('error', (err) => this.ctx.log.debug({ err: err.message }, 'upgrade socket error'));
    if (!(FEEDS as readonly string[]).includes(path)) return this.refuseUpgrade(socket, 404, 'Not Found');
    const refuse = faults.find('refuse');
    if (refuse) {
      faults.use(refuse);
      this.ctx.log.info({ path }, 'upgrade refused: connection reset (refuse fault)');
      return void socket.destroy();
    }
    const hang = faults.find('handshake_hang');
    if (hang) {
      faults.use(hang);
      this.ctx.log.info({ path }, 'upgrade left hanging (handshake_hang fault)');
      this.hung.add(socket);
      socket.on('close', () => this.hung.delete(socket));
      return;
    }
    const reject = faults.find('reject_upgrade');
    if (reject) {
      faults.use(reject);
      return this.refuseUpgrade(socket, reject.status, 'Rejected', reject.retryAfterSec);
    }
    this.stats.upgrades += 1;
    const msgpack = /application\/msgpack/i.test(req.headers['content-type'] ?? '');
    const key = header(req, 'apca-api-key-id');
    const secret = header(req, 'apca-api-secret-key');
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new Session(
        ws,
        socket,
        path.slice(4),
        msgpack ? 'msgpack' : 'json',
        this.ctx,
        key && secret ? { key, secret } : undefined,
      );
      this.sessions.add(session);
      ws.on('close', () => this.sessions.delete(session));
    });
  }

  deliver(tick: MarketTick): void {
    for (const s of this.sessions) s.deliver(tick);
  }

  /** Apply an instant fault to the matching sessions; returns how many it touched. */
  applyInstant(spec: FaultSpec): number {
    const targets = [...this.sessions].filter((s) => !('key' in spec) || spec.key === undefined || s.key === spec.key);
    for (const s of targets) {
      if (spec.kind === 'drop') s.drop();
      else if (spec.kind === 'close') s.close(spec.code, spec.reason);
      else if (spec.kind === 'kill_session') s.kill();
      else if (spec.kind === 'unsubscribe') s.forgetSubscriptions();
      else if (spec.kind === 'garbage') s.sendGarbage();
    }
    if (spec.kind === 'kill_session') this.ctx.slots.forgetZombie(spec.key);
    if (targets.length) this.ctx.faults.countApplied(spec.kind);
    return targets.length;
  }

  zombies(): { key: string; until: string }[] {
    return this.ctx.slots.zombieList();
  }

  close(): void {
    clearInterval(this.pinger);
    for (const s of this.sessions) s.kill();
    for (const socket of this.hung) socket.destroy();
    this.wss.close();
  }

  private pingAndReap(): void {
    const now = Date.now();
    // A healthy client's last pong answers the previous ping, one interval ago: only silence beyond that
    // interval plus the grace is a dead session. Measured from the pong alone, a grace shorter than the ping
    // interval (an accelerated market) reaped every healthy session on its second ping.
    const silentAfterMs = this.opts.serverPingIntervalMs + this.opts.zombieGraceMs;
    for (const s of this.sessions) {
      if (now - s.lastPongAt > silentAfterMs) {
        this.stats.reaped += 1;
        this.ctx.log.info({ session: s.id }, 'reaping a session that stopped answering pings');
        s.kill();
      } else s.ping();
    }
  }

  private refuseUpgrade(socket: Duplex, status: number, text: string, retryAfterSec?: number): void {
    this.stats.rejectedUpgrades += 1;
    this.ctx.log.info({ status }, 'upgrade rejected');
    const body = JSON.stringify({ code: status, message: text.toLowerCase() });
    const retry = retryAfterSec !== undefined ? `Retry-After: ${retryAfterSec}\r\n` : '';
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\n${retry}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
}
