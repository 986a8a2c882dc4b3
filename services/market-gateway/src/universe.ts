import { TICKER_PATTERN } from '@vigil/contracts';
import { ALL_SYMBOLS, isAllSymbols } from '@vigil/service-kit';

/**
 * The symbols the gateway keeps complete. A list (SYMBOLS=SPY,AAPL) is fixed. The wildcard (SYMBOLS=*) subscribes to
 * every symbol, but Alpaca's REST bars need explicit symbols, so its universe is what is known: the symbols already
 * stored in BARS, the broker's active assets, and every symbol the stream brings. Backfill, polling and the audit
 * cover the universe as it is when they run.
 */
export class SymbolUniverse {
  readonly all: boolean;
  private readonly known = new Set<string>();
  private listed: string[] | null = null;

  constructor(configured: readonly string[]) {
    this.all = isAllSymbols(configured);
    if (!this.all) for (const s of configured) this.known.add(s);
  }

  /** What the stream subscription asks for: `*`, or the list. */
  subscription(): string[] {
    return this.all ? [ALL_SYMBOLS] : [...this.list()];
  }

  /** Whether a bar for this symbol is one to keep: a listed symbol, or under `*` any valid ticker. */
  wants(symbol: string): boolean {
    return this.known.has(symbol) || (this.all && TICKER_PATTERN.test(symbol));
  }

  /** Under `*`, learn symbols (valid tickers only); returns how many were new. A fixed list learns nothing. */
  add(symbols: Iterable<string>): number {
    let added = 0;
    for (const s of symbols) if (this.learn(s)) added += 1;
    return added;
  }

  /** `add` for one symbol, without an array: the live path calls it for every bar. Whether it was new. */
  learn(symbol: string): boolean {
    if (!this.all || this.known.has(symbol) || !TICKER_PATTERN.test(symbol)) return false;
    this.known.add(symbol);
    this.listed = null;
    return true;
  }

  /** Every known symbol, in the order configured or learnt. The same array until the universe grows. */
  list(): readonly string[] {
    this.listed ??= [...this.known];
    return this.listed;
  }

  get size(): number {
    return this.known.size;
  }

  /** For logs and the heartbeat: `*` with its size, or the list. */
  describe(): string {
    return this.all ? `* (${this.known.size} known)` : this.list().join(',');
  }
}

/** The `max` symbols whose stored bars are newest, newest first (ties by name): what a `*` heartbeat names. */
export function newestSymbols(lastStored: ReadonlyMap<string, number>, max: number): [string, number][] {
  return [...lastStored].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, max);
}
