import type { KV } from '@nats-io/kv';
import { symbolToken } from '@vigil/contracts';
import { KvJsonStore, KvValueInvalid, type Logger, type Metrics } from '@vigil/service-kit';
import * as z from 'zod';
import type { Strategy } from './strategy.js';

export interface SymbolState {
  /** Start of the last bar folded into `state`, epoch ms; null before the first. */
  lastT: number | null;
  state: unknown;
}

/**
 * Per-symbol indicator state in a KV bucket, keyed `<strategy>.<SYMBOL>`, with the start of the last bar
 * folded in. Cached in memory: this process is the only writer for its strategy.
 */
export class IndicatorStore {
  private readonly cache = new Map<string, SymbolState>();
  private readonly stored;
  private readonly log: Logger;
  private readonly corrupt;

  constructor(
    kv: KV,
    private readonly strategy: Strategy,
    logger: Logger,
    metrics: Metrics,
    /** How long a write waits for JetStream's ack (nats.js waits 5 s by default, holding every later bar). */
    private readonly putTimeoutMs: number,
  ) {
    this.stored = new KvJsonStore(
      kv,
      z.strictObject({ v: z.literal(1), lastT: z.number().int(), state: strategy.stateSchema }),
    );
    this.log = logger.child({ component: 'indicator-store' });
    this.corrupt = metrics.counter(
      'strategy_state_corrupt_total',
      'Stored indicator states that failed validation and were reset',
    );
  }

  private key(symbol: string): string {
    return `${this.strategy.name}.${symbolToken(symbol)}`;
  }

  async get(symbol: string): Promise<SymbolState> {
    const cached = this.cache.get(symbol);
    if (cached) return cached;
    let loaded: SymbolState = { lastT: null, state: this.strategy.initial() };
    try {
      const value = await this.stored.get(this.key(symbol));
      if (value) loaded = { lastT: value.lastT, state: value.state };
    } catch (err) {
      if (!(err instanceof KvValueInvalid)) throw err;
      this.corrupt.inc();
      this.log.error(
        { symbol, key: this.key(symbol), err },
        'stored indicator state is invalid; starting this symbol from scratch',
      );
    }
    this.cache.set(symbol, loaded);
    return loaded;
  }

  async put(symbol: string, value: { lastT: number; state: unknown }): Promise<void> {
    await this.stored.put(this.key(symbol), { v: 1, ...value }, { timeout: this.putTimeoutMs });
    this.cache.set(symbol, value);
  }
}
