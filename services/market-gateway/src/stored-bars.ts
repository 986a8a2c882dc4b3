import type { Bar } from '@vigil/contracts';
import type { BarValues, StoredMinutes } from './audit.js';

/**
 * Which minutes of each symbol the stream holds, as far as this gateway's publish acks tell: the values it stored,
 * or null for a minute the stream already had (a duplicate ack: stored by an earlier run, values unknown here).
 * Fed by the publisher, read and pruned by the auditor; bounded by the audit window.
 */
export class StoredBars {
  private readonly bySymbol = new Map<string, Map<number, BarValues | null>>();

  /** A publish of `bar` was acked; `duplicate`: the stream already had its msg id and kept what it had. */
  record(bar: Bar, duplicate: boolean): void {
    const t = Date.parse(bar.t);
    const minutes = this.bySymbol.get(bar.symbol) ?? new Map<number, BarValues | null>();
    this.bySymbol.set(bar.symbol, minutes);
    // A revision says nothing of its minute's first bar: stored without it (a revision 0 the stream lost and a
    // check gave up on), the minute is still a hole, and the audit must go on finding it.
    if (bar.revision > 0 && !minutes.has(t)) return;
    if (!duplicate) minutes.set(t, valuesOf(bar));
    else if (!minutes.has(t)) minutes.set(t, null);
  }

  minutes(symbol: string): StoredMinutes {
    return this.bySymbol.get(symbol) ?? new Map();
  }

  /** Forget minutes before `startMs`: older than anything an audit compares. */
  prune(startMs: number): void {
    for (const minutes of this.bySymbol.values()) for (const t of minutes.keys()) if (t < startMs) minutes.delete(t);
  }
}

function valuesOf(bar: Bar): BarValues {
  const { open, high, low, close, volume, tradeCount, vwap } = bar;
  return { open, high, low, close, volume, tradeCount, vwap };
}
