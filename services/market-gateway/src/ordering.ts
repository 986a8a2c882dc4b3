import { barMsgId, type Bar } from '@vigil/contracts';

/**
 * Which of one symbol's bars go out, and in what order, as a pure reducer: `(state, event) => { state, actions }`.
 * No I/O, no clock, no NATS, so every rule is tested in a table (`ordering.test.ts`); `publisher.ts` keeps one
 * state per symbol, feeds it events and carries out the actions, and its queue keeps each symbol's publishes in
 * the order of the `publish` actions.
 *
 * - The high-water mark is the newest revision-0 bar sent: a bar at or before it is already out and is skipped.
 * - While the symbol is held (a backfill or poll in flight), live bars wait; at release they go out in time order.
 * - A backfill or poll bar for a held symbol first sends the live bars waiting at or before its minute: it raises
 *   the mark, so were they left for the release they would count as already out and be lost. A waiting live copy
 *   of the same minute goes out instead of it, so that bar keeps its live label.
 * - A correction (`updatedBars`) of a bar already out is numbered as its next revision; one of a bar still waiting
 *   takes its place; one of a bar never seen is an ordinary bar, and so is one of a minute the mark has passed
 *   without a bar going out (a sparse symbol's quiet minute, say), as long as that minute is among the recent ones
 *   this state remembers; an older one is numbered as a revision, since nothing says it did not go out.
 * - With the buffer full a bar is refused without moving the mark, so the backfill after the overflow fetches it.
 */

export interface SymbolOrder {
  /** Start of the newest revision-0 bar sent (the high-water mark), or undefined before the first. */
  readonly lastT: number | undefined;
  /** Live bars waiting behind a backfill or poll, in arrival order; null while the symbol is not held. */
  readonly held: readonly Bar[] | null;
  /** The newest revision sent per bar start, for the bars that have one. */
  readonly revisions: ReadonlyMap<number, number>;
  /**
   * Starts of the newest revision-0 bars out, oldest first, at most `RECENT_SENT`: every minute out since the first
   * of them is here, so a minute after it and missing was never sent.
   */
  readonly recent: readonly number[];
}

/** How many sent minutes a symbol remembers: corrections come within a minute or two of their bar. */
export const RECENT_SENT = 32;

export const initialOrder: SymbolOrder = { lastT: undefined, held: null, revisions: new Map(), recent: [] };

/** An event carrying a bar; `full`: the buffer has no room for one more. */
export type BarEvent = { type: 'bar'; bar: Bar; full: boolean } | { type: 'correction'; bar: Bar; full: boolean };

export type OrderEvent =
  /** The newest bar the stream stored (read on start): a restarted gateway carries on after it. */
  | { type: 'resume'; t: number; revision: number }
  | { type: 'hold' }
  /** `full` as for a bar: a full buffer refuses the waiting bars too. */
  | { type: 'release'; full: boolean }
  /** The audit stored this minute's revision-0 bar outside these rules (it was missing). */
  | { type: 'repaired'; t: number }
  | BarEvent;

export type OrderAction =
  /** Send to JetStream under this dedup id. */
  | { type: 'publish'; bar: Bar; msgId: string }
  /** A correction of a bar already out was numbered as `bar.revision`. */
  | { type: 'revise'; bar: Bar }
  | { type: 'hold'; bar: Bar }
  /** Already out: by the high-water mark (`gateway`), or a waiting live copy of its minute went out instead (`held_live`). */
  | { type: 'skip'; bar: Bar; by: 'gateway' | 'held_live' }
  /** The buffer is full: not sent and not marked sent. */
  | { type: 'refuse'; bar: Bar };

/** What became of an event's bar. */
export type Outcome = 'queued' | 'held' | 'skipped' | 'overflow';

export interface Decision {
  state: SymbolOrder;
  actions: OrderAction[];
  /** What became of the event's bar; set for bar and correction events. */
  outcome?: Outcome;
}

interface Draft {
  lastT: number | undefined;
  held: Bar[] | null;
  revisions: ReadonlyMap<number, number>;
  recent: readonly number[];
  actions: OrderAction[];
}

const byTimeThenRevision = (a: Bar, b: Bar): number => Date.parse(a.t) - Date.parse(b.t) || a.revision - b.revision;

export function decide(state: SymbolOrder, event: BarEvent): Decision & { outcome: Outcome };
export function decide(state: SymbolOrder, event: OrderEvent): Decision;
export function decide(state: SymbolOrder, event: OrderEvent): Decision {
  const d: Draft = {
    lastT: state.lastT,
    held: state.held && [...state.held],
    revisions: state.revisions,
    recent: state.recent,
    actions: [],
  };
  let outcome: Outcome | undefined;
  switch (event.type) {
    case 'resume':
      d.lastT = event.t;
      d.revisions = new Map(d.revisions).set(event.t, event.revision);
      d.recent = [event.t];
      break;
    case 'repaired':
      if (neverSent(d, event.t)) d.recent = remember(d.recent, event.t);
      break;
    case 'hold':
      d.held ??= [];
      break;
    case 'release': {
      const waiting = d.held ?? [];
      d.held = null;
      // Bars that arrived out of order while held go out in time order.
      for (const bar of waiting.sort(byTimeThenRevision)) offer(d, bar, event.full);
      break;
    }
    case 'bar':
      outcome = offer(d, event.bar, event.full);
      break;
    case 'correction':
      outcome = correct(d, event.bar, event.full);
      break;
  }
  const next = {
    state: { lastT: d.lastT, held: d.held, revisions: d.revisions, recent: d.recent },
    actions: d.actions,
  };
  return outcome ? { ...next, outcome } : next;
}

function offer(d: Draft, bar: Bar, full: boolean): Outcome {
  if (full) {
    d.actions.push({ type: 'refuse', bar });
    return 'overflow';
  }
  if (!d.held) return send(d, bar);
  if (bar.source === 'live') {
    d.held.push(bar);
    d.actions.push({ type: 'hold', bar });
    return 'held';
  }
  return offerPastHeld(d, d.held, bar);
}

/** A backfill or poll bar for a held symbol: the live bars waiting at or before its minute go out first, in order. */
function offerPastHeld(d: Draft, held: Bar[], bar: Bar): 'queued' | 'skipped' {
  const t = Date.parse(bar.t);
  const due = held.filter((w) => Date.parse(w.t) <= t).sort(byTimeThenRevision);
  d.held = held.filter((w) => Date.parse(w.t) > t);
  for (const w of due) send(d, w);
  if (bar.revision === 0 && due.some((w) => w.revision === 0 && Date.parse(w.t) === t)) {
    d.actions.push({ type: 'skip', bar, by: 'held_live' });
    return 'skipped';
  }
  return send(d, bar);
}

/** Out it goes, unless the high-water mark says it already went; a revision always goes (its msg id is its own). */
function send(d: Draft, bar: Bar): 'queued' | 'skipped' {
  if (bar.revision === 0) {
    const t = Date.parse(bar.t);
    if (d.lastT !== undefined && t <= d.lastT) {
      d.actions.push({ type: 'skip', bar, by: 'gateway' });
      return 'skipped';
    }
    d.lastT = t;
    d.recent = remember(d.recent, t);
  }
  d.actions.push({ type: 'publish', bar, msgId: barMsgId(bar.symbol, bar.t, bar.revision) });
  return 'queued';
}

/** `recent` with `t` in its place, the oldest dropped past `RECENT_SENT`; a new one goes at the end. */
function remember(recent: readonly number[], t: number): number[] {
  const next = [...recent];
  let at = next.length;
  while (at > 0 && next[at - 1]! > t) at -= 1;
  next.splice(at, 0, t);
  return next.length > RECENT_SENT ? next.slice(-RECENT_SENT) : next;
}

/** `t` is at or before the mark, and within the remembered minutes, yet none of them: no bar of it went out. */
function neverSent(d: Draft, t: number): boolean {
  return d.recent.length > 0 && t >= d.recent[0]! && !d.recent.includes(t);
}

function correct(d: Draft, bar: Bar, full: boolean): Outcome {
  const t = Date.parse(bar.t);
  if (d.lastT === undefined || t > d.lastT) {
    // The bar it corrects is still waiting behind a backfill: the corrected values take its place, so they are
    // what goes out (a second revision-0 copy would be skipped at release as already out).
    const original = d.held?.findIndex((w) => w.revision === 0 && Date.parse(w.t) === t) ?? -1;
    if (d.held && original >= 0) {
      d.held[original] = bar;
      d.actions.push({ type: 'hold', bar });
      return 'held';
    }
    return offer(d, bar, full);
  }
  if (neverSent(d, t)) {
    // Out of time order, as any correction is, but under the minute's own id: the stream has no bar of it.
    if (full) {
      d.actions.push({ type: 'refuse', bar });
      return 'overflow';
    }
    d.recent = remember(d.recent, t);
    d.actions.push({ type: 'publish', bar, msgId: barMsgId(bar.symbol, bar.t, 0) });
    return 'queued';
  }
  const revision = (d.revisions.get(t) ?? 0) + 1;
  d.revisions = new Map(d.revisions).set(t, revision);
  const revised = { ...bar, revision };
  d.actions.push({ type: 'revise', bar: revised });
  return offer(d, revised, full);
}
