// Fixed bar series for the unit tests.
import type { Bar, BarSource } from '@vigil/contracts';

export const T0 = Date.parse('2026-11-27T14:30:00Z');

export function bar(i: number, close: number, opts: { symbol?: string; source?: BarSource; t0?: number } = {}): Bar {
  const t = new Date((opts.t0 ?? T0) + i * 60_000).toISOString().replace('.000Z', 'Z');
  return {
    v: 1,
    symbol: opts.symbol ?? 'SPY',
    t,
    open: close,
    high: close + 0.1,
    low: close - 0.1,
    close,
    volume: 1000,
    tradeCount: 10,
    vwap: close,
    revision: 0,
    source: opts.source ?? 'live',
    feed: 'test',
    receivedAt: t,
  };
}

/** Run a strategy over closes and return the bar index and side of every signal. */
export function signalsOf<S>(
  strategy: { initial(): S; step(b: Bar, s: S): { state: S; signal?: { side: string } } },
  closes: number[],
): { i: number; side: string }[] {
  let state = strategy.initial();
  const out: { i: number; side: string }[] = [];
  closes.forEach((c, i) => {
    const r = strategy.step(bar(i, c), state);
    state = r.state;
    if (r.signal) out.push({ i, side: r.signal.side });
  });
  return out;
}
