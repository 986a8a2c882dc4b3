/**
 * The bars waiting for JetStream, as a sliding window: each symbol's bars in the order they were queued, at most
 * one of them in flight, and symbols taken in the order they became ready. So many symbols' bars are on the wire
 * at once (a whole minute's in a few round trips, with no wait for the slowest of a batch) while each symbol's
 * bars still go out one after another, even when one publish fails and a later one would not have.
 */
export class SendQueue<T extends { bar: { symbol: string } }> {
  private readonly bySymbol = new Map<string, T[]>();
  /** Symbols whose head may go out now; read from `head` on, compacted as it is consumed. */
  private ready: string[] = [];
  private head = 0;
  private readonly sending = new Set<string>();
  private entries = 0;

  /** Entries queued or in flight. */
  get size(): number {
    return this.entries;
  }

  get inFlight(): number {
    return this.sending.size;
  }

  hasReady(): boolean {
    return this.head < this.ready.length;
  }

  push(entry: T): void {
    const { symbol } = entry.bar;
    const list = this.bySymbol.get(symbol);
    this.entries += 1;
    if (list) {
      list.push(entry);
      return;
    }
    // No list: nothing of this symbol is queued or in flight, so it is ready now.
    this.bySymbol.set(symbol, [entry]);
    this.ready.push(symbol);
  }

  /** The next entry to send, now counted as in flight; undefined when every queued symbol has one out. */
  take(): T | undefined {
    if (!this.hasReady()) return undefined;
    const symbol = this.ready[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
    this.sending.add(symbol);
    return this.bySymbol.get(symbol)![0];
  }

  /** `entry` (taken) is stored: its symbol's next entry, if any, becomes ready. */
  done(entry: T): void {
    const { symbol } = entry.bar;
    const list = this.bySymbol.get(symbol)!;
    list.shift();
    this.entries -= 1;
    this.sending.delete(symbol);
    if (list.length > 0) this.ready.push(symbol);
    else this.bySymbol.delete(symbol);
  }

  /** `entry` (taken) was not stored: it stays its symbol's head and goes out again first. */
  putBack(entry: T): void {
    const { symbol } = entry.bar;
    this.sending.delete(symbol);
    if (this.head > 0) this.ready[--this.head] = symbol;
    else this.ready.unshift(symbol);
  }
}
