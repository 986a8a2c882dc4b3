import { decode, encode } from '@msgpack/msgpack';
import { WebSocket, type ClientOptions } from 'ws';
import { startSim, type Sim, type SimOptions } from '../src/index.js';

export type Frame = Record<string, unknown>;

/** A fast simulator for tests: 120 wall ms per simulated minute, short grace and auth windows. */
export function fastSim(opts: SimOptions = {}): Promise<Sim> {
  return startSim({
    clock: { msPerMinute: 120 },
    zombieGraceMs: 400,
    authTimeoutMs: 3000,
    serverPingIntervalMs: 0,
    updatedBarRate: 0,
    ...opts,
  });
}

export const KEY = 'SIMKEY';
export const SECRET = 'SIMSECRET';

/** A hand-rolled stream client for protocol edges the SDK never produces. */
export class RawClient {
  readonly frames: Frame[] = [];
  readonly rawMessages: { data: Buffer; isBinary: boolean }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly ws: WebSocket,
    readonly msgpack: boolean,
  ) {
    ws.on('message', (data: Buffer, isBinary) => {
      this.rawMessages.push({ data, isBinary });
      try {
        const decoded = isBinary ? decode(data) : JSON.parse(data.toString());
        if (Array.isArray(decoded)) this.frames.push(...(decoded as Frame[]));
        else this.frames.push({ T: '__non_array__', value: decoded });
      } catch {
        this.frames.push({ T: '__garbage__' });
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('close', () => {
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('error', () => {});
  }

  static open(url: string, opts: ClientOptions & { msgpack?: boolean } = {}): Promise<RawClient> {
    const headers = { ...(opts.headers ?? {}), ...(opts.msgpack ? { 'Content-Type': 'application/msgpack' } : {}) };
    const ws = new WebSocket(url, { ...opts, headers, perMessageDeflate: false });
    const client = new RawClient(ws, opts.msgpack ?? false);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, headers: res.headers })),
      );
    });
  }

  /** Open and authenticate, resolving once `authenticated` arrives. */
  static async authed(
    sim: Sim,
    feed = 'iex',
    opts: { msgpack?: boolean; key?: string; secret?: string } = {},
  ): Promise<RawClient> {
    const c = await RawClient.open(`${sim.wsUrl}/v2/${feed}`, opts);
    c.send({ action: 'auth', key: opts.key ?? KEY, secret: opts.secret ?? SECRET });
    await c.waitFor((f) => f.msg === 'authenticated');
    return c;
  }

  send(msg: unknown): void {
    this.ws.send(this.msgpack ? encode(msg) : JSON.stringify(msg));
  }

  /** The first frame from index `from` matching `pred`; rejects after `timeoutMs` or on close. */
  async waitFor(pred: (f: Frame) => boolean, timeoutMs = 5000, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.slice(from).find(pred);
      if (hit) return hit;
      if (this.ws.readyState === WebSocket.CLOSED)
        throw new Error(`closed before a matching frame; got ${JSON.stringify(this.frames.slice(-5))}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.ws.terminate();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// biome-ignore lint/suspicious/noExplicitAny: the control API's answers vary by route; each test asserts on their shape.
type ControlAnswer = { status: number; body: any };

export async function control(sim: Sim, method: string, path: string, body?: unknown): Promise<ControlAnswer> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
