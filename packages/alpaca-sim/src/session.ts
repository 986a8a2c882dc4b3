import type { Duplex } from 'node:stream';
import type { Logger } from '@vigil/service-kit';
import type { WebSocket } from 'ws';
import { correctionKey, updatedBarForMinute, updatePublishMs, type Bar, type MarketModel } from './bars.js';
import type { SimClock } from './clock.js';
import type { FaultBook, LastingKind } from './faults.js';
import type { KeySlots } from './key-slots.js';
import type { MarketTick } from './market.js';
import { decodeClient, encodeFrames, type Encoding } from './msgpack.js';
import {
  applySubscription,
  clientMessage,
  emptySubscriptions,
  errorFrame,
  isSubscribed,
  subscriptionFrame,
  successFrame,
  type Channel,
  type StreamErrorCode,
} from './protocol.js';

type Frame = Record<string, unknown>;

export interface SessionContext {
  faults: FaultBook;
  slots: KeySlots<Session>;
  credentials: ReadonlyMap<string, string>;
  clock: SimClock;
  model: MarketModel;
  authTimeoutMs: number;
  log: Logger;
}

/** Garbage of three flavours: broken JSON, a non-array, and a bar that breaks the schema. */
// Truncated JSON, a bar missing its fields, wrong types, and a bar well-formed but impossible (low above high,
// mid-minute start, far in the future): a consumer that checks types alone would take the last one in.
const GARBAGE = [
  '[{"T":"b","S":"SPY","o":',
  '{"T":"b"}',
  '[{"T":"b","S":"SPY","o":"NaN","t":12}]',
  '[{"T":"b","S":"SPY","o":100,"h":99,"l":101,"c":100,"v":10,"t":"2099-01-01T00:00:30Z","n":1,"vw":100}]',
];

/** One client connection: the auth / subscribe state machine, and delivery of market data under faults. */
export class Session {
  private static nextId = 1;
  readonly id = Session.nextId++;
  key: string | undefined;
  authenticated = false;
  subscriptions = emptySubscriptions();
  readonly barsSent = new Map<string, number>();
  lastPongAt = Date.now();
  /** Set when the server itself ends the session: `drop` leaves a zombie, a kill or reap does not. */
  private endMode: 'zombie' | 'release' | undefined;
  private readonly authTimer: NodeJS.Timeout;
  private readonly heldBars = new Map<string, Bar>();
  private dataMessages = 0;
  private garbageIndex = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    readonly feed: string,
    readonly encoding: Encoding,
    private readonly ctx: SessionContext,
    headerCreds: { key: string; secret: string } | undefined,
  ) {
    this.authTimer = setTimeout(() => this.closeWithError(404), ctx.authTimeoutMs);
    ws.on('message', (data: Buffer, isBinary) => this.onMessage(data, isBinary));
    ws.on('ping', (data) => {
      if (!this.active('blackhole')) ws.pong(data);
    });
    ws.on('pong', () => {
      if (!ctx.faults.find('blackhole', this.key)) this.lastPongAt = Date.now();
    });
    ws.on('close', (code) => this.onClose(code));
    ws.on('error', (err) => {
      // ws closes the socket itself on protocol violations (e.g. 1009 for an oversized frame): the server ended it, no zombie.
      this.endMode = 'release';
      ctx.log.warn({ session: this.id, err: err.message }, 'stream client violated the WebSocket protocol: closed');
    });
    this.sendControl(successFrame('connected'));
    if (headerCreds) this.authenticate(headerCreds.key, headerCreds.secret);
  }

  get connected(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  /** The `drop` fault: TCP reset, no close frame; the key stays held as a zombie. */
  drop(): void {
    this.endMode = 'zombie';
    if ('resetAndDestroy' in this.socket && typeof this.socket.resetAndDestroy === 'function')
      this.socket.resetAndDestroy();
    else this.socket.destroy();
  }

  /** End the session and free its key at once (kill_session, or the reaper after the grace period). */
  kill(): void {
    this.endMode = 'release';
    this.ws.terminate();
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  forgetSubscriptions(): void {
    this.subscriptions = emptySubscriptions();
  }

  sendGarbage(): void {
    const text = GARBAGE[this.garbageIndex++ % GARBAGE.length]!;
    this.raw(this.encoding === 'json' ? text : Buffer.from([0xc1, 0xff, 0x00, 0x93]));
  }

  ping(): void {
    if (this.connected && !this.active('blackhole')) this.ws.ping();
  }

  /** Deliver one market tick, filtered by subscriptions and bent by the faults in force. */
  deliver(tick: MarketTick): void {
    if (!this.authenticated || !this.connected) return;
    const frames: Frame[] = [];
    const add = (channel: Channel, T: string, items: readonly { S: string }[]) => {
      for (const item of items) if (isSubscribed(this.subscriptions, channel, item.S)) frames.push({ T, ...item });
    };
    add('trades', 't', tick.trades);
    add('quotes', 'q', tick.quotes);
    add('updatedBars', 'u', tick.updatedBars);
    add('dailyBars', 'd', tick.dailyBars);
    const bars = this.bentBars(tick.bars.filter((b) => isSubscribed(this.subscriptions, 'bars', b.S)));
    const late = bars.length ? this.active('late_bars') : undefined;
    if (late && bars.length) later(() => this.sendData(bars.map((b) => ({ T: 'b', ...b }))), late.delayMs);
    else frames.push(...bars.map((b) => ({ T: 'b', ...b })));
    if (bars.length && this.active('updated_bars')) this.scheduleCorrections(bars);
    if (frames.length) this.sendData(frames);
  }

  private bentBars(bars: Bar[]): Bar[] {
    if (!bars.length) return bars;
    let out = bars;
    if (this.active('out_of_order')) {
      // Hold every other bar back and send it after its successor: pairs arrive newest first.
      out = [];
      for (const bar of bars) {
        const held = this.heldBars.get(bar.S);
        if (held) {
          out.push(bar, held);
          this.heldBars.delete(bar.S);
        } else this.heldBars.set(bar.S, bar);
      }
    } else if (this.heldBars.size) {
      out = [...bars, ...this.heldBars.values()];
      this.heldBars.clear();
    }
    if (this.active('duplicate_bars')) out = out.flatMap((b) => [b, b]);
    return out;
  }

  private scheduleCorrections(bars: Bar[]): void {
    for (const bar of bars) {
      const minute = Date.parse(bar.t) / 60_000;
      const updated = updatedBarForMinute(this.ctx.model, bar.S, minute, true);
      if (!updated) continue;
      later(
        () => {
          this.ctx.model.forcedCorrections?.add(correctionKey(bar.S, minute));
          if (isSubscribed(this.subscriptions, 'updatedBars', bar.S)) this.sendData([{ T: 'u', ...updated }]);
        },
        this.ctx.clock.wallMsUntil(updatePublishMs(minute)),
      );
    }
  }

  private sendData(frames: Frame[]): void {
    if (!this.connected) return;
    if (this.active('blackhole') || this.active('stall')) return;
    const malformed = this.ctx.faults.find('malformed_frames', this.key);
    if (malformed && ++this.dataMessages % malformed.everyN === 0) {
      this.ctx.faults.use(malformed);
      this.sendGarbage();
    }
    for (const f of frames)
      if (f.T === 'b') this.barsSent.set(f.S as string, (this.barsSent.get(f.S as string) ?? 0) + 1);
    this.send(frames);
  }

  private sendControl(frame: Frame): void {
    if (!this.active('blackhole')) this.send([frame]);
  }

  private send(frames: Frame[]): void {
    this.raw(encodeFrames(frames, this.encoding));
  }

  private raw(data: string | Uint8Array): void {
    const slow = this.active('slow');
    const go = () => {
      if (this.connected) this.ws.send(data);
    };
    if (slow) later(go, slow.delayMs);
    else go();
  }

  /** The live fault of `kind` for this session's key, counted as applied. */
  private active<K extends LastingKind>(kind: K) {
    const fault = this.ctx.faults.find(kind, this.key);
    if (fault) this.ctx.faults.use(fault);
    return fault;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.active('blackhole')) return;
    let decoded: unknown;
    try {
      decoded = decodeClient(data, isBinary);
    } catch (err) {
      this.reject(400, 'undecodable client frame', { err: (err as Error).message, bytes: data.length });
      return;
    }
    const parsed = clientMessage.safeParse(decoded);
    if (!parsed.success) {
      this.reject(400, 'invalid client message', {
        issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`),
      });
      return;
    }
    const msg = parsed.data;
    if (msg.action === 'auth') return this.authenticate(msg.key, msg.secret);
    if (!this.authenticated) return this.reject(401, 'subscribe before auth');
    this.subscriptions = applySubscription(this.subscriptions, msg.action, msg);
    this.ctx.log.info(
      { session: this.id, action: msg.action, subscriptions: this.subscriptions },
      'subscriptions changed',
    );
    if (this.active('no_subscription_ack')) return;
    const partial = this.active('partial_subscription_ack');
    if (partial) {
      const omit = new Set(partial.omit ?? Object.values(this.subscriptions).flatMap((list) => list.slice(-1)));
      return this.sendControl(subscriptionFrame(this.subscriptions, omit));
    }
    this.sendControl(subscriptionFrame(this.subscriptions));
  }

  private authenticate(key: string, secret: string): void {
    if (this.authenticated) return this.reject(403, 'second auth');
    this.key = key;
    if (this.active('auth_silent'))
      return void this.ctx.log.info({ session: this.id }, 'auth left unanswered (auth_silent fault)');
    if (this.active('auth_fail') || this.ctx.credentials.get(key) !== secret) return this.closeWithError(402);
    const limit = this.active('conn_limit');
    if (limit || !this.ctx.slots.acquire(key, this)) return this.closeWithError(406);
    clearTimeout(this.authTimer);
    this.authenticated = true;
    this.ctx.log.info({ session: this.id, feed: this.feed, encoding: this.encoding }, 'stream authenticated');
    this.sendControl(successFrame('authenticated'));
  }

  private reject(code: StreamErrorCode, why: string, detail: Record<string, unknown> = {}): void {
    this.ctx.log.warn({ session: this.id, code, ...detail }, `stream client error: ${why}`);
    this.sendControl(errorFrame(code));
  }

  private closeWithError(code: StreamErrorCode): void {
    this.ctx.log.warn({ session: this.id, code }, 'stream session refused');
    if (!this.active('blackhole')) this.ws.send(encodeFrames([errorFrame(code)], this.encoding));
    this.ws.close(1008, String(code));
  }

  private onClose(code: number): void {
    clearTimeout(this.authTimer);
    if (!this.key || !this.authenticated) return;
    const unclean = this.endMode ? this.endMode === 'zombie' : code === 1006;
    this.ctx.slots.release(this.key, this, unclean);
    this.ctx.log.info({ session: this.id, code, zombie: unclean }, 'stream session closed');
  }
}

/** Delayed delivery that never keeps the process alive after the simulator closes (sends check `connected`). */
function later(fn: () => void, ms: number): void {
  if (Number.isFinite(ms)) setTimeout(fn, ms).unref();
}
