import type { FlattenPolicy } from './config.js';
import { owedSince, type DecisionWatch } from './decision-watch.js';
import { alert, iso, secs, type Action } from './drafts.js';
import { haltThenFlatten, noEscalation, type Escalation, type ExecutorControl } from './escalation.js';

/**
 * `position_unmanaged`: a symbol held at the broker has had fresh bars without a decision for
 * UNMANAGED_ALERT_MS in market hours. Whatever the cause (a strategy killed, stuck, filtering every bar, a
 * consumer stopped), the position has no manager. With no bars at all, `no_bar` pages instead. Pure.
 */
export interface UnmanagedConfig {
  unmanagedAlertMs: number;
  flattenAfterMs: number;
  flattenPolicy: FlattenPolicy;
}

export interface PositionsView {
  /** Non-zero quantities by symbol (negative: short). */
  bySymbol: Record<string, number>;
  readAt: number;
}

export interface Unmanaged extends Escalation {
  openedAt: number;
  symbols: string[];
}

export interface UnmanagedState extends ExecutorControl {
  positions: PositionsView | null;
  decisions: DecisionWatch;
  unmanaged: Unmanaged | null;
}

export interface UnmanagedSymbol {
  symbol: string;
  qty: number;
  owedForMs: number;
}

/** Held symbols owed a decision for at least UNMANAGED_ALERT_MS. */
export function unmanagedSymbols(cfg: UnmanagedConfig, s: UnmanagedState, now: number): UnmanagedSymbol[] {
  if (!s.positions) return [];
  return Object.entries(s.positions.bySymbol).flatMap(([symbol, qty]) => {
    const since = owedSince(s.decisions, symbol);
    return qty !== 0 && since !== null && now - since >= cfg.unmanagedAlertMs
      ? [{ symbol, qty, owedForMs: now - since }]
      : [];
  });
}

export function evaluateUnmanaged(cfg: UnmanagedConfig, s: UnmanagedState, now: number): Action[] {
  const actions: Action[] = [];
  const found = s.phase === 'closed' ? [] : unmanagedSymbols(cfg, s, now);
  const u = s.unmanaged;
  const strategy =
    s.decisions.strategySeenAt === null
      ? 'no strategy heartbeat seen'
      : `strategy heartbeat ${secs(now - s.decisions.strategySeenAt)} ago`;
  const list = found.map((f) => `${f.symbol} ${f.qty} sh, ${secs(f.owedForMs)} without a decision`).join('; ');
  if (u && found.length === 0) {
    actions.push(
      alert(
        'position_unmanaged',
        'info',
        'resolved',
        u.id,
        `every held position is decided on again (or flat, or the market closed)`,
        now - u.openedAt,
        { symbols: u.symbols },
      ),
    );
    s.unmanaged = null;
    return actions;
  }
  if (found.length === 0) return actions;
  const details = {
    positions: found,
    strategySeenAt: s.decisions.strategySeenAt === null ? null : iso(s.decisions.strategySeenAt),
    positionsReadAt: iso(s.positions!.readAt),
  };
  if (!u) {
    s.unmanaged = { ...noEscalation(`unmanaged-${iso(now)}`, now), openedAt: now, symbols: found.map((f) => f.symbol) };
    actions.push(
      alert(
        'position_unmanaged',
        'critical',
        'open',
        s.unmanaged.id,
        `positions held with nobody deciding: ${list} (${strategy})`,
        null,
        details,
      ),
    );
  } else {
    for (const f of found) if (!u.symbols.includes(f.symbol)) u.symbols.push(f.symbol);
  }
  const open = s.unmanaged!;
  if (cfg.flattenPolicy === 'off') return actions;
  const why = `positions unmanaged for ${secs(now - open.openedAt)} after the page (${found.map((f) => f.symbol).join(', ')})`;
  actions.push(
    ...haltThenFlatten(s, open, now, {
      due: now - open.openedAt >= cfg.flattenAfterMs,
      flatten: cfg.flattenPolicy === 'flatten',
      why,
      opened: alert('position_unmanaged', 'critical', 'info', open.id, `halting new orders: ${why}`, null, details),
    }),
  );
  return actions;
}
