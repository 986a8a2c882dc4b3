/**
 * Which held symbols are owed a decision: a fresh bar arrived and the strategy has not reported deciding on it
 * (or on a later bar of that symbol) since. Keyed by bar start, not by arrival order, so the race between the
 * strategy deciding and the watchdog seeing the same bar cannot make a healthy strategy look behind. Pure.
 */
export interface DecisionWatch {
  /** Start (epoch ms) of the newest bar the strategy reported deciding on, per symbol. */
  decidedBarT: Record<string, number>;
  /** Fresh bars not yet decided on, per symbol: bar start and when we saw it (our clock), oldest first. */
  owed: Record<string, { t: number; seenAt: number }[]>;
  /** When the last strategy heartbeat arrived (our clock), or null before the first. */
  strategySeenAt: number | null;
}

/** Bars remembered per symbol while undecided; only the oldest matters for the page, so the list stays short. */
const MAX_OWED = 32;

export const emptyDecisionWatch = (): DecisionWatch => ({ decidedBarT: {}, owed: {}, strategySeenAt: null });

export function onFreshBar(w: DecisionWatch, symbol: string, t: number, now: number): void {
  if (t <= (w.decidedBarT[symbol] ?? -Infinity)) return;
  const owed = w.owed[symbol] ?? [];
  w.owed[symbol] = owed;
  if (owed.some((o) => o.t === t)) return;
  owed.push({ t, seenAt: now });
  // Keep the oldest (its age is what pages) and the newest few.
  if (owed.length > MAX_OWED) owed.splice(1, owed.length - MAX_OWED);
}

/** A strategy heartbeat: the newest bar decided on per symbol (epoch ms of its start). */
export function onDecisions(w: DecisionWatch, decidedBarT: Record<string, number>, now: number): void {
  w.strategySeenAt = now;
  for (const [symbol, t] of Object.entries(decidedBarT)) {
    if (t <= (w.decidedBarT[symbol] ?? -Infinity)) continue;
    w.decidedBarT[symbol] = t;
    const left = (w.owed[symbol] ?? []).filter((o) => o.t > t);
    if (left.length > 0) w.owed[symbol] = left;
    else delete w.owed[symbol];
  }
}

/** Since when (our clock) `symbol` has had a fresh bar without a decision, or null when nothing is owed. */
export function owedSince(w: DecisionWatch, symbol: string): number | null {
  return w.owed[symbol]?.[0]?.seenAt ?? null;
}

/** The market closed: bars stop by design and nothing is owed across the night. */
export function forgetOwed(w: DecisionWatch): void {
  w.owed = {};
}
