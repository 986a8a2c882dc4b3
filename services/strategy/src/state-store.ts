import type { KV } from '@nats-io/kv';
import { symbolToken } from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';
import * as z from 'zod';
import type { Strategy } from './strategy.js';

export interface SymbolState {
  /** Start of the last bar folded into `state`, epoch ms; null before the first. */
  lastT: number | null;
  state: unknown;
}

const Stored = z.strictObject({ v: z.literal(1), lastT: z.number().int(), state: z.unknown() });

/**
 * Per-symbol indicator state in a KV bucket, keyed `<strategy>.<SYMBOL>`, with the start of the last bar
 * folded in. Cached in memory: this process is the only writer for its strategy.
 */
export class StateStore {
  private readonly cache = new Map<string, SymbolState>();
  private readonly log: Logger;
  private readonly corrupt;

  constructor(
    private readonly kv: KV,
    private readonly strategy: Strategy,
    logger: Logger,
    metrics: Metrics,
    /** How long a write waits for JetStream's ack (nats.js waits 5 s by default, holding every later bar). */
    private readonly putTimeoutMs: number,
  ) {
    this.log = logger.child({ component: 'state-store' });
    this.corrupt = metrics.counter('strategy_state_corrupt_total', 'Stored indicator states that failed validation and were reset');
  }

  private key(symbol: string): string {
    return `${this.strategy.name}.${symbolToken(symbol)}`;
  }

  async get(symbol: string): Promise<SymbolState> {
    const cached = this.cache.get(symbol);
    if (cached) return cached;
    const entry = await this.kv.get(this.key(symbol));
    let loaded: SymbolState = { lastT: null, state: this.strategy.initial() };
    if (entry && entry.operation === 'PUT') {
      const parsed = Stored.safeParse(safeJson(entry.string()));
      const state = parsed.success ? this.strategy.stateSchema.safeParse(parsed.data.state) : null;
      if (parsed.success && state?.success) loaded = { lastT: parsed.data.lastT, state: state.data };
      else {
        this.corrupt.inc();
        this.log.error({ symbol, key: this.key(symbol) }, 'stored indicator state is invalid; starting this symbol from scratch');
      }
    }
    this.cache.set(symbol, loaded);
    return loaded;
  }

  async put(symbol: string, value: { lastT: number; state: unknown }): Promise<void> {
    await this.kv.put(this.key(symbol), JSON.stringify({ v: 1, ...value }), { timeout: this.putTimeoutMs });
    this.cache.set(symbol, value);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
