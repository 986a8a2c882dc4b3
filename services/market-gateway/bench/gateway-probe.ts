import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Bar, decodeOn, subjects } from '@vigil/contracts';
import type { Gateway } from '../src/gateway.js';

export interface Transition {
  at: number;
  from: string;
  to: string;
}

/** The supervisor's state and its reason (what it waits for, and how long), from `at` on. */
export interface Doing {
  at: number;
  state: string;
  reason: string;
}

/**
 * Watches the gateway from outside, as a consumer would: its supervisor state (sampled every few ms,
 * the gateway exposes no state event) and every bar it puts on `md.bars.1m.>`, timed on arrival.
 */
export class GatewayProbe {
  readonly transitions: Transition[] = [];
  /** Every change of state or of its reason, in order: what the gateway was waiting for at a given moment. */
  readonly doing: Doing[] = [];
  /**
   * Each failed attempt (the supervisor's attempt counter moved on) and the state it led to. Two failures
   * in a row can leave state and reason unchanged between samples (a 429 answers within a millisecond on
   * loopback), so these are not read off the transitions.
   */
  readonly failures: { at: number; state: string }[] = [];
  private lastAttempt: number;
  /** Wall arrival time of each live bar on NATS, in order. */
  readonly liveBarTimes: number[] = [];
  readonly bySource: Record<string, number> = {};
  private readonly timer: NodeJS.Timeout;
  private readonly sub: Subscription;

  constructor(
    private readonly gateway: Gateway,
    nc: NatsConnection,
    sampleMs = 2,
  ) {
    const { state, reason, attempt } = gateway.supervisor.status();
    this.doing.push({ at: Date.now(), state, reason });
    this.lastAttempt = attempt;
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

  /** The last failed attempt in [from, to) that led to `state`. */
  lastFailureBetween(state: string, from: number, to: number): number | null {
    return this.failures.findLast((f) => f.at >= from && f.at < to && f.state === state)?.at ?? null;
  }

  /** A 406 lock-out (state `limited`) met in [from, to). */
  limitedBetween(from: number, to: number): boolean {
    return this.transitions.some((t) => t.at >= from && t.at < to && t.to === 'limited');
  }

  /**
   * What held the gateway up longest in [from, to): the state and reason, and for how long (ms). Streaming is
   * not a hold-up (it is waiting for the next bar), so it is left out.
   */
  longestWaitBetween(from: number, to: number): (Doing & { ms: number }) | null {
    let longest: (Doing & { ms: number }) | null = null;
    this.doing.forEach((d, i) => {
      if (d.state === 'streaming') return;
      const until = Math.min(to, this.doing[i + 1]?.at ?? to);
      const ms = until - Math.max(from, d.at);
      if (ms > 0 && (longest === null || ms > longest.ms)) longest = { ...d, ms };
    });
    return longest;
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
    const { state, reason, attempt } = this.gateway.supervisor.status();
    const at = Date.now();
    if (attempt > this.lastAttempt) this.failures.push({ at, state });
    this.lastAttempt = attempt;
    const last = this.doing[this.doing.length - 1]!;
    if (state === last.state && reason === last.reason) return;
    this.doing.push({ at, state, reason });
    if (state !== last.state) this.transitions.push({ at, from: last.state, to: state });
  }
}
