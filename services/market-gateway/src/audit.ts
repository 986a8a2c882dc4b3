import { MINUTE_MS } from '@vigil/contracts';
import type { WireBar } from './alpaca-messages.js';

/**
 * What the audit compares (pure; `auditor.ts` does the I/O). Every other layer decides what is missing from a
 * clock estimate or from what it saw; the audit asks REST what each minute holds and the stream itself what it
 * stored, so a hole left by any layer (or by a broker clock that lies) is found within one audit.
 */

/** The values of a stored bar, as REST gives them (`o h l c v n vw`). */
export interface BarValues {
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  tradeCount: number;
  vwap: number;
}

/**
 * A symbol's minute as the stream holds it: its values when this gateway stored them, or null when the stream
 * has it but this gateway never saw its values (stored before a restart, confirmed by a duplicate ack).
 */
export type StoredMinutes = ReadonlyMap<number, BarValues | null>;

export interface AuditWindow {
  /** First minute compared (inclusive). */
  start: number;
  /**
   * Last minute compared (inclusive): minutes whose late-trade correction may still be on its way (Alpaca sends
   * it about 30 s after the bar's end) are left to the stream, so only `lagMs` past a bar's end is it audited.
   */
  through: number;
}

export function auditWindow(brokerNowMs: number, windowMs: number, lagMs: number): AuditWindow | null {
  const start = Math.floor((brokerNowMs - windowMs) / MINUTE_MS) * MINUTE_MS;
  const through = Math.floor((brokerNowMs - lagMs) / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
  return through >= start ? { start, through } : null;
}

export interface SymbolFindings {
  /** REST bars for minutes up to the symbol's newest stored bar that this gateway does not know stored: sent
   * under their own msg id, so the stream's dedup answers whether each was there (duplicate) or a hole (stored
   * now). Oldest first. */
  unconfirmed: WireBar[];
  /** REST bars whose values differ from what this gateway stored for that minute. Oldest first. */
  revised: WireBar[];
  /** REST bars after the symbol's newest stored bar, settled (`through`) yet never stored: offered like any bar,
   * so they go out in order behind what is queued. Oldest first. */
  beyond: WireBar[];
}

/** One symbol's REST bars against what the stream holds, over the window's minutes. */
export function auditSymbol(
  rest: readonly WireBar[],
  stored: StoredMinutes,
  newestStoredMs: number | undefined,
  window: AuditWindow,
): SymbolFindings {
  const findings: SymbolFindings = { unconfirmed: [], revised: [], beyond: [] };
  const sorted = [...rest].sort((a, b) => Date.parse(a.t) - Date.parse(b.t));
  for (const bar of sorted) {
    const t = Date.parse(bar.t);
    if (t < window.start || t > window.through) continue;
    if (newestStoredMs === undefined || t > newestStoredMs) findings.beyond.push(bar);
    else if (!stored.has(t)) findings.unconfirmed.push(bar);
    else {
      const values = stored.get(t);
      if (values && !sameValues(values, bar)) findings.revised.push(bar);
    }
  }
  return findings;
}

/** Exact comparison: both sides are Alpaca's own numbers, carried through JSON unchanged. */
export function sameValues(stored: BarValues, rest: WireBar): boolean {
  return (
    stored.open === rest.o &&
    stored.high === rest.h &&
    stored.low === rest.l &&
    stored.close === rest.c &&
    stored.volume === rest.v &&
    stored.tradeCount === rest.n &&
    stored.vwap === (rest.vw ?? rest.c)
  );
}
