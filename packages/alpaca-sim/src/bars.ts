import { MINUTE_MS, isOpenAt, sessionsBetween, nyDate } from './calendar.js';
import { priceAt, rand, round } from './prices.js';

/** Wire shapes (JSON field names), without the `T` tag. `t` is RFC-3339 UTC. */
export interface Bar {
  S: string;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
  t: string;
  n: number;
  vw: number;
}
export interface Trade {
  S: string;
  i: number;
  x: string;
  p: number;
  s: number;
  c: string[];
  t: string;
  z: string;
}
export interface Quote {
  S: string;
  ax: string;
  ap: number;
  as: number;
  bx: string;
  bp: number;
  bs: number;
  c: string[];
  t: string;
  z: string;
}

export interface MarketModel {
  seed: number;
  /** Symbols that trade thinly: many minutes have no trade and hence no bar, as on IEX. */
  sparse: ReadonlySet<string>;
  /** Share of bars later corrected by a late trade (an updated bar 30 s after the minute). */
  updatedBarRate: number;
  /**
   * Corrections the `updated_bars` fault sent (`<symbol>:<minute>`): REST serves them from then on, as Alpaca's
   * history holds a bar's final values.
   */
  forcedCorrections?: Set<string>;
}

export const correctionKey = (symbol: string, minute: number): string => `${symbol}:${minute}`;

interface TradeAt {
  trade: Trade;
  ms: number;
}

/** RFC-3339 with nine fraction digits; the sub-millisecond digits are deterministic noise. */
function nanoIso(ms: number, subMs: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}${String(subMs).padStart(6, '0')}Z`;
}

// The market asks for a minute's trades at every 10 s slot, at its close and for every price it quotes: with
// 100 symbols that recomputation was most of the simulator's CPU. Trades are a pure function of the model,
// the symbol and the minute, so recent minutes are kept.
const tradeCache = new WeakMap<MarketModel, Map<string, readonly TradeAt[]>>();
const TRADE_CACHE_ENTRIES = 50_000;

/** The trades of epoch minute `minute` (ms / 60000), in time order. None while the market is closed. */
export function tradesInMinute(model: MarketModel, symbol: string, minute: number): readonly TradeAt[] {
  let cache = tradeCache.get(model);
  if (!cache) {
    cache = new Map();
    tradeCache.set(model, cache);
  }
  const key = `${symbol}\u0000${minute}`;
  let trades = cache.get(key);
  if (!trades) {
    // Frozen: every caller shares these objects, so a change by one would leak into the next answer.
    trades = Object.freeze(
      computeTrades(model, symbol, minute).map((t) => Object.freeze({ ...t, trade: Object.freeze(t.trade) })),
    );
    if (cache.size >= TRADE_CACHE_ENTRIES) cache.clear();
    cache.set(key, trades);
  }
  return trades;
}

function computeTrades(model: MarketModel, symbol: string, minute: number): readonly TradeAt[] {
  const start = minute * MINUTE_MS;
  if (!isOpenAt(start)) return [];
  const { seed } = model;
  let count: number;
  if (model.sparse.has(symbol))
    count = rand(seed, symbol, minute, 'gap') < 0.45 ? 0 : 1 + Math.floor(rand(seed, symbol, minute, 'n') * 2);
  else count = 4 + Math.floor(rand(seed, symbol, minute, 'n') * 5);
  const offsets = Array.from({ length: count }, (_, i) =>
    Math.floor(rand(seed, symbol, minute, 'off', i) * MINUTE_MS),
  ).sort((a, b) => a - b);
  return offsets.map((off, i) => {
    const ms = start + off;
    const p = round(priceAt(seed, symbol, ms) * (1 + 0.0004 * (rand(seed, symbol, minute, 'pn', i) - 0.5)), 2);
    const trade: Trade = {
      S: symbol,
      i: minute * 10 + i,
      x: 'V',
      p,
      s: 100 * (1 + Math.floor(rand(seed, symbol, minute, 's', i) * 5)),
      c: ['@'],
      t: nanoIso(ms, Math.floor(rand(seed, symbol, minute, 'ns', i) * 1e6)),
      z: 'B',
    };
    return { trade, ms };
  });
}

/** The quote standing just before a trade: a one-to-three-cent spread around it. */
export function quoteFor(seed: number, trade: Trade): Quote {
  const half = (1 + Math.floor(rand(seed, trade.S, trade.i, 'spread') * 3)) / 200;
  const size = (salt: string) => 1 + Math.floor(rand(seed, trade.S, trade.i, salt) * 5);
  return {
    S: trade.S,
    ax: 'V',
    ap: round(trade.p + half, 2),
    as: size('as'),
    bx: 'V',
    bp: round(trade.p - half, 2),
    bs: size('bs'),
    c: ['R'],
    t: trade.t,
    z: trade.z,
  };
}

function aggregate(symbol: string, minute: number, trades: { p: number; s: number }[]): Bar | null {
  if (trades.length === 0) return null;
  let h = -Infinity;
  let l = Infinity;
  let v = 0;
  let pv = 0;
  for (const t of trades) {
    h = Math.max(h, t.p);
    l = Math.min(l, t.p);
    v += t.s;
    pv += t.p * t.s;
  }
  const t = new Date(minute * MINUTE_MS).toISOString().replace('.000Z', 'Z');
  return {
    S: symbol,
    o: trades[0]!.p,
    h,
    l,
    c: trades[trades.length - 1]!.p,
    v,
    t,
    n: trades.length,
    vw: round(pv / v, 6),
  };
}

/** The minute bar labelled `minute` (its start), aggregated from that minute's trades; null if none traded. */
export function barForMinute(model: MarketModel, symbol: string, minute: number): Bar | null {
  return aggregate(
    symbol,
    minute,
    tradesInMinute(model, symbol, minute).map((x) => x.trade),
  );
}

/** The corrected bar for `minute` if a late trade arrives for it, else null. */
export function updatedBarForMinute(model: MarketModel, symbol: string, minute: number, force = false): Bar | null {
  if (!force && rand(model.seed, symbol, minute, 'late') >= model.updatedBarRate) return null;
  const trades = tradesInMinute(model, symbol, minute).map((x) => x.trade);
  if (trades.length === 0) return null;
  const last = trades[trades.length - 1]!;
  const late = { p: round(last.p + (rand(model.seed, symbol, minute, 'latep') < 0.5 ? -0.01 : 0.01), 2), s: 100 };
  return aggregate(symbol, minute, [...trades, late]);
}

/** When an updated bar for `minute` goes out: just after the next half-minute mark, as Alpaca does. */
export function updatePublishMs(minute: number): number {
  return (minute + 1) * MINUTE_MS + 30_000;
}

/**
 * The bars REST serves for [fromMs, toMs] (inclusive start times) that are complete at `nowMs`, oldest
 * first. A correction replaces its bar once published. Only session minutes are visited.
 */
export function historicalBars(model: MarketModel, symbol: string, fromMs: number, toMs: number, nowMs: number): Bar[] {
  const lastComplete = Math.floor(nowMs / MINUTE_MS) - 1;
  const last = Math.min(Math.floor(toMs / MINUTE_MS), lastComplete);
  const first = Math.ceil(fromMs / MINUTE_MS);
  if (last < first) return [];
  const out: Bar[] = [];
  for (const s of sessionsBetween(nyDate(first * MINUTE_MS), nyDate(last * MINUTE_MS))) {
    const lo = Math.max(first, s.openMs / MINUTE_MS);
    const hi = Math.min(last, s.closeMs / MINUTE_MS - 1);
    for (let m = lo; m <= hi; m++) {
      const forced = model.forcedCorrections?.has(correctionKey(symbol, m)) ?? false;
      const updated = updatePublishMs(m) <= nowMs ? updatedBarForMinute(model, symbol, m, forced) : null;
      const bar = updated ?? barForMinute(model, symbol, m);
      if (bar) out.push(bar);
    }
  }
  return out;
}
