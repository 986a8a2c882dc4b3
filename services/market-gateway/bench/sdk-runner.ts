import { Alpaca } from '@alpacahq/alpaca-trade-api';

type Stream = ReturnType<Alpaca['marketData']['stockStream']>;

export interface SdkEvent {
  at: number;
  state: string;
}

/**
 * The official SDK's StockDataStream at its defaults (10 s pings, 5 s pong wait, 10 reconnect attempts,
 * 1 s doubling backoff), subscribed to bars, seen from the application: every bar it hands over, and
 * every state change. When it stops for good (it treats 404 as terminal, and never notices a stream
 * that stopped carrying data) the bench replaces it with a fresh one, as a person restarting the
 * process would, and counts that: the later faults still compare like with like.
 */
export class SdkRunner {
  /** `SYMBOL|t(ms)` → how many times the SDK delivered that bar. */
  readonly delivered = new Map<string, number>();
  /** Wall time of each bar delivery, in order. */
  readonly barTimes: number[] = [];
  readonly events: SdkEvent[] = [];
  /** Wall times of 406 (connection limit) errors reported by the SDK. */
  readonly limited: number[] = [];
  /** Wall times of 429s on the upgrade, reported by the SDK as socket errors. */
  readonly rateLimited: number[] = [];
  /** Per symbol, bars whose `t` was not after the previous one. */
  outOfOrder = 0;
  replaced = 0;
  private readonly lastT = new Map<string, number>();
  private stream: Stream | null = null;

  constructor(private readonly opts: { keyId: string; secret: string; url: string; symbols: string[] }) {}

  start(): void {
    const stream = new Alpaca({ keyId: this.opts.keyId, secret: this.opts.secret }).marketData.stockStream({
      feed: 'iex',
      url: this.opts.url,
    });
    stream.onBar((bar) => {
      if (this.stream !== stream) return;
      const at = Date.now();
      const t = bar.timestamp.getTime();
      const key = `${bar.symbol}|${t}`;
      this.delivered.set(key, (this.delivered.get(key) ?? 0) + 1);
      this.barTimes.push(at);
      const last = this.lastT.get(bar.symbol);
      if (last !== undefined && t <= last && this.delivered.get(key) === 1) this.outOfOrder += 1;
      if (last === undefined || t > last) this.lastT.set(bar.symbol, t);
    });
    stream.onStateChange((state) => {
      if (this.stream === stream) this.events.push({ at: Date.now(), state });
    });
    // The SDK only reports errors (406, undecodable frames); it acts on none but 401/402/404.
    stream.onError((msg) => {
      if (this.stream !== stream) return;
      if (/connection limit/i.test(msg)) this.limited.push(Date.now());
      if (/server response: 429/.test(msg)) this.rateLimited.push(Date.now());
    });
    stream.subscribeForBars(this.opts.symbols);
    this.stream = stream;
    stream.connect();
  }

  state(): string {
    return this.stream?.getState() ?? 'stopped';
  }

  /** Authenticated and a bar delivered at or after `since`. */
  deliveringSince(since: number): boolean {
    return this.state() === 'authenticated' && this.firstBarAfter(since) !== null;
  }

  firstBarAfter(since: number): number | null {
    // Deliveries are appended in time order: search from the end.
    let found: number | null = null;
    for (let i = this.barTimes.length - 1; i >= 0 && this.barTimes[i]! >= since; i--) found = this.barTimes[i]!;
    return found;
  }

  /** First time the SDK reported losing its connection in [from, to). */
  disconnectedBetween(from: number, to: number): number | null {
    return this.events.find((e) => e.at >= from && e.at < to && e.state === 'disconnected')?.at ?? null;
  }

  /** The last 429 the SDK met in [from, to). */
  rateLimitedBetween(from: number, to: number): number | null {
    return this.rateLimited.findLast((at) => at >= from && at < to) ?? null;
  }

  /** Replace the stream with a fresh one (clean close first, so the sim holds no zombie for the key). */
  replace(): void {
    this.replaced += 1;
    this.stop();
    this.start();
  }

  stop(): void {
    const s = this.stream;
    this.stream = null;
    s?.disconnect();
  }
}
