import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Bar, decodeOn, subjects } from '@vigil/contracts';
import type { Gateway } from '../src/gateway.js';

export interface Transition {
  at: number;
  from: string;
  to: string;
}

/**
 * Watches the gateway from outside, as a consumer would: its supervisor state (sampled every few ms,
 * the gateway exposes no state event) and every bar it puts on `md.bars.1m.>`, timed on arrival.
 */
export class GatewayProbe {
  readonly transitions: Transition[] = [];
  /** Wall arrival time of each live bar on NATS, in order. */
  readonly liveBarTimes: number[] = [];
  readonly bySource: Record<string, number> = {};
  private last: string;
  private readonly timer: NodeJS.Timeout;
  private readonly sub: Subscription;

  constructor(
    private readonly gateway: Gateway,
    nc: NatsConnection,
    sampleMs = 2,
  ) {
    this.last = gateway.supervisor.status().state;
    this.timer = setInterval(() => this.sample(), sampleMs);
    this.sub = nc.subscribe(subjects.bars1mAll, {
      callback: (err, msg) => {
        if (err) return;
        const decoded = decodeOn(Bar, msg.subject, msg.data);
        if (!decoded.ok) return void console.error(`gateway probe: ${decoded.error.message}`);
        const bar = decoded.value;
        this.bySource[bar.source] = (this.bySource[bar.source] ?? 0) + 1;
        if (bar.source === 'live') this.liveBarTimes.push(Date.now());
      },
    });
  }

  state(): string {
    return this.gateway.supervisor.status().state;
  }

  /** First time the gateway left `streaming` in [from, to). */
  leftStreamingBetween(from: number, to: number): number | null {
    return this.transitions.find((t) => t.at >= from && t.at < to && t.from === 'streaming')?.at ?? null;
  }

  /** Connections the gateway ended in [from, to) while streaming. */
  reconnectsBetween(from: number, to: number): number {
    return this.transitions.filter((t) => t.at >= from && t.at < to && t.from === 'streaming').length;
  }

  /** A 406 lock-out (state `limited`) met in [from, to). */
  limitedBetween(from: number, to: number): boolean {
    return this.transitions.some((t) => t.at >= from && t.at < to && t.to === 'limited');
  }

  firstLiveBarAfter(since: number): number | null {
    let found: number | null = null;
    for (let i = this.liveBarTimes.length - 1; i >= 0 && this.liveBarTimes[i]! >= since; i--)
      found = this.liveBarTimes[i]!;
    return found;
  }

  stop(): void {
    clearInterval(this.timer);
    this.sub.unsubscribe();
  }

  private sample(): void {
    const now = this.gateway.supervisor.status().state;
    if (now !== this.last) {
      this.transitions.push({ at: Date.now(), from: this.last, to: now });
      this.last = now;
    }
  }
}
