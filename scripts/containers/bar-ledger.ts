// Exactly once, per symbol and minute: what BARS holds, counted. A bar is one symbol's minute at one revision
// (a correction is a new revision of the same minute, and stored as its own message).
import type { Bar } from '@vigil/contracts';

const MINUTE_MS = 60_000;

export interface SymbolLedger {
  /** Minutes with a first-revision bar. */
  minutes: number;
  first: string | null;
  last: string | null;
  /** `<t>` (or `<t> r<revision>`) stored more than once. */
  duplicates: string[];
  /** Minutes between the first and the last with no bar. */
  holes: string[];
}

export type Ledger = Record<string, SymbolLedger>;

export function barLedger(bars: Bar[], symbols: string[]): Ledger {
  const ledger: Ledger = {};
  for (const symbol of symbols) {
    const mine = bars.filter((b) => b.symbol === symbol);
    const seen = new Map<string, number>();
    for (const b of mine) {
      const key = b.revision === 0 ? b.t : `${b.t} r${b.revision}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    const starts = [...new Set(mine.filter((b) => b.revision === 0).map((b) => Date.parse(b.t)))].sort((a, b) => a - b);
    const holes: string[] = [];
    for (let i = 1; i < starts.length; i++)
      for (let t = starts[i - 1]! + MINUTE_MS; t < starts[i]!; t += MINUTE_MS) holes.push(new Date(t).toISOString());
    ledger[symbol] = {
      minutes: starts.length,
      first: starts.length ? new Date(starts[0]!).toISOString() : null,
      last: starts.length ? new Date(starts.at(-1)!).toISOString() : null,
      duplicates: [...seen].filter(([, n]) => n > 1).map(([k, n]) => `${k} x${n}`),
      holes,
    };
  }
  return ledger;
}

/** The latest minute every symbol has reached (ISO), or null before each has a bar. */
export function lastCommonMinute(ledger: Ledger): string | null {
  const lasts = Object.values(ledger).map((l) => l.last);
  if (lasts.some((l) => l === null)) return null;
  return (lasts as string[]).sort()[0]!;
}

/** Holes and duplicates only, per symbol: what an exactly-once assertion compares with `{}`. */
export function ledgerFaults(ledger: Ledger): Record<string, { duplicates: string[]; holes: string[] }> {
  const out: Record<string, { duplicates: string[]; holes: string[] }> = {};
  for (const [symbol, l] of Object.entries(ledger))
    if (l.duplicates.length || l.holes.length) out[symbol] = { duplicates: l.duplicates, holes: l.holes };
  return out;
}
