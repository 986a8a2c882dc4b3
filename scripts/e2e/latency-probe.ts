// Timestamps a bar at each stage of the data path: leaving the simulator, stored on NATS, turned into a
// signal, reaching the broker as an order. Observes only; every message still takes its real path.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Sim } from '@vigil/alpaca-sim';
import { Bar, decodeOn, Signal, subjects } from '@vigil/contracts';
import type * as z from 'zod';

export type Stage = 'nats' | 'signal' | 'order';
export type Hop = 'strategy' | 'executor';

const key = (symbol: string, t: string) => `${symbol}:${new Date(t).toISOString()}`;

export class LatencyProbe {
  /** When each bar left the simulator, by `SYMBOL:t`. */
  readonly emitted = new Map<string, number>();
  private readonly seen: Record<Stage, Map<string, number>> = { nats: new Map(), signal: new Map(), order: new Map() };
  /** Signal id → bar, to find the bar of an order (its client_order_id is the signal id). */
  private readonly signalBar = new Map<string, string>();
  private readonly orderSignal = new Map<string, number>();
  /** How each bar first reached NATS: only live bars can become signals. */
  private readonly source = new Map<string, Bar['source']>();

  constructor(
    sim: Sim,
    nc: NatsConnection,
    private readonly now: () => number = () => performance.timeOrigin + performance.now(),
  ) {
    // Registered after the simulator's own listener, which has already written the bar to every socket.
    sim.market.on('tick', (tick) => {
      const at = this.now();
      for (const bar of tick.bars) this.emitted.set(key(bar.S, bar.t), at);
    });
    const submit = sim.broker.submit.bind(sim.broker);
    sim.broker.submit = (req) => {
      if (req.client_order_id && !this.orderSignal.has(req.client_order_id))
        this.orderSignal.set(req.client_order_id, this.now());
      return submit(req);
    };
    this.listen(nc, subjects.barsAll, Bar, (m) => {
      const k = key(m.symbol, m.t);
      if (!this.source.has(k)) this.source.set(k, m.source);
      this.first('nats', k);
    });
    this.listen(nc, subjects.signalsAll, Signal, (s) => {
      this.signalBar.set(s.id, key(s.symbol, s.barT));
      this.first('signal', key(s.symbol, s.barT));
    });
  }

  /** Adds what the probe may have missed while its own connection was down (signals read back from the stream). */
  learnSignals(signals: readonly Signal[]): void {
    for (const s of signals) this.signalBar.set(s.id, key(s.symbol, s.barT));
  }

  /** Milliseconds from leaving the simulator to `stage`, for bars that left within [from, to). */
  latencies(stage: Stage, from: number, to: number): number[] {
    if (stage === 'order') {
      for (const [id, at] of this.orderSignal) {
        const bar = this.signalBar.get(id);
        if (bar && !this.seen.order.has(bar)) this.seen.order.set(bar, at);
      }
    }
    const out: number[] = [];
    for (const [bar, at] of this.seen[stage]) {
      const left = this.emitted.get(bar);
      if (left !== undefined && left >= from && left < to) out.push(at - left);
    }
    return out;
  }

  /**
   * Milliseconds each service added, for bars that left within [from, to): the strategy from the bar stored to
   * its signal, the executor from the signal to its order at the broker (the gateway's hop is stage `nats`).
   */
  hopLatencies(hop: Hop, from: number, to: number): number[] {
    const [start, end] = hop === 'strategy' ? (['nats', 'signal'] as const) : (['signal', 'order'] as const);
    if (end === 'order') this.latencies('order', from, to); // matches orders to their bars
    const out: number[] = [];
    for (const [bar, at] of this.seen[end]) {
      const left = this.emitted.get(bar);
      const began = this.seen[start].get(bar);
      if (left !== undefined && began !== undefined && left >= from && left < to) out.push(at - began);
    }
    return out;
  }

  barsEmitted(from: number, to: number): number {
    let n = 0;
    for (const at of this.emitted.values()) if (at >= from && at < to) n += 1;
    return n;
  }

  /** The bars that left within [from, to), by how they reached NATS (`live 3990, backfill 10`). */
  sources(from: number, to: number): string {
    const counts = new Map<string, number>();
    for (const [bar, at] of this.emitted) {
      if (at < from || at >= to) continue;
      const how = this.source.get(bar) ?? 'not seen';
      counts.set(how, (counts.get(how) ?? 0) + 1);
    }
    return [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([how, n]) => `${how} ${n}`)
      .join(', ');
  }

  private first(stage: Stage, bar: string): void {
    if (!this.seen[stage].has(bar)) this.seen[stage].set(bar, this.now());
  }

  private listen<S extends z.ZodType>(
    nc: NatsConnection,
    subject: string,
    schema: S,
    on: (msg: z.infer<S>) => void,
  ): void {
    const sub = nc.subscribe(subject);
    void (async () => {
      for await (const m of sub) {
        const decoded = decodeOn(schema, m.subject, m.data);
        if (decoded.ok) on(decoded.value);
        else console.error(`latency probe: ${decoded.error.message}`);
      }
    })();
  }
}
