import { describe, expect, it } from 'vitest';
import { Metrics } from '@vigil/service-kit';
import { captureLogger } from '@vigil/service-kit/testing';
import {
  heldBySymbol,
  parseAccount,
  parseOpenOrders,
  parsePositions,
  PositionsWatcher,
  type AccountSource,
} from './positions.js';

/** A broker whose answers the test queues, one per read; an answer that is a function is called (to throw). */
function broker(answers: { positions: unknown[]; orders: unknown[]; account: unknown[] }) {
  const next = (q: unknown[]) => async () => {
    const a = q.shift();
    if (typeof a === 'function') return a();
    return a;
  };
  const source = { getAllOpenPositions: next(answers.positions) } as never;
  const accountSource = {
    orders: { getAllOrders: next(answers.orders) },
    account: { getAccount: next(answers.account) },
  } as unknown as AccountSource;
  return { source, accountSource };
}
const fail = () => Promise.reject(new Error('HTTP 503'));
// As the SDK hands them over: camelCase, numbers as strings, times as Dates.
const spy = {
  symbol: 'SPY',
  qty: '20',
  side: 'long',
  marketValue: '12000.00',
  unrealizedPl: '50.00',
  unrealizedIntradayPl: '-10.50',
};
const order = {
  id: 'o-1',
  symbol: 'AAPL',
  side: 'buy',
  type: 'limit',
  status: 'new',
  qty: '5',
  notional: null,
  filledQty: '0',
  limitPrice: '190.5',
  stopPrice: null,
  submittedAt: new Date('2026-01-06T14:31:00.000Z'),
};

describe('positions', () => {
  it('reads signed quantities and P&L, and drops flat ones', () => {
    const held = parsePositions([
      spy,
      { symbol: 'BRK.B', qty: '-3', side: 'short' },
      { symbol: 'QQQ', qty: '0', side: 'long' },
    ]);
    expect(heldBySymbol(held)).toEqual({ SPY: 20, 'BRK.B': -3 });
    expect(held[0]).toEqual({
      symbol: 'SPY',
      qty: 20,
      marketValue: 12000,
      unrealizedPl: 50,
      unrealizedIntradayPl: -10.5,
    });
    expect(held[1]).toMatchObject({ marketValue: null, unrealizedIntradayPl: null });
  });

  it('refuses an answer that is not a list of positions, saying why', () => {
    expect(() => parsePositions({ message: 'forbidden' })).toThrow(/not a list of positions/);
    expect(() => parsePositions([{ symbol: 'spy', qty: '1' }])).toThrow(/symbol/);
    expect(() => parsePositions([{ symbol: 'SPY', qty: 'lots' }])).toThrow(/qty/);
  });

  it('reads open orders, by quantity or by notional', () => {
    expect(parseOpenOrders([order, { ...order, id: 'o-2', qty: null, notional: '250', submittedAt: null }])).toEqual([
      {
        id: 'o-1',
        symbol: 'AAPL',
        side: 'buy',
        type: 'limit',
        status: 'new',
        qty: 5,
        notional: null,
        filledQty: 0,
        limitPrice: 190.5,
        stopPrice: null,
        submittedAt: '2026-01-06T14:31:00.000Z',
      },
      expect.objectContaining({ id: 'o-2', qty: null, notional: 250, submittedAt: null }),
    ]);
    expect(() => parseOpenOrders([{ ...order, side: 'hold' }])).toThrow(/open orders answer is not a list of orders/);
  });

  it("takes the day's P&L as equity minus the last close's equity, to the cent", () => {
    expect(parseAccount({ equity: '100000.10', lastEquity: '100000.00', cash: '1' })).toEqual({
      equity: 100000.1,
      lastEquity: 100000,
      dayPl: 0.1,
    });
    expect(() => parseAccount({ equity: '100000.10' })).toThrow(/lastEquity/);
  });

  it('keeps the rules on the last positions through failed reads, but shows a failed part as unknown', async () => {
    const { logger, lines } = captureLogger();
    const metrics = new Metrics('watchdog', { defaultMetrics: false });
    const { source, accountSource } = broker({
      positions: [[spy], fail, { garbage: true }, []],
      orders: [[order], [order], fail, []],
      account: [{ equity: '101', lastEquity: '100' }, fail, fail, { equity: '99', lastEquity: '100' }],
    });
    const seen: Record<string, number>[] = [];
    let t = 1_000;
    const w = new PositionsWatcher(
      source,
      accountSource,
      1_000_000,
      (p) => seen.push(p),
      logger,
      metrics,
      () => t,
    );
    expect(w.book()).toBeNull();

    await w.read();
    expect(w.book()).toMatchObject({ readAt: 1_000, positions: [{ symbol: 'SPY' }], orders: [{ id: 'o-1' }] });
    expect(w.book()!.account).toEqual({ equity: 101, lastEquity: 100, dayPl: 1 });

    t = 2_000;
    await w.read();
    expect(w.book()).toMatchObject({ readAt: 2_000, positions: null, orders: [{ id: 'o-1' }], account: null });
    await w.read();
    expect(w.book()).toMatchObject({ positions: null, orders: null, account: null });
    await w.read();
    expect(w.book()).toMatchObject({ positions: [], orders: [], account: { dayPl: -1 } });

    // The rules saw only the answers that read: SPY held, then flat.
    expect(seen).toEqual([{ SPY: 20 }, {}]);
    const logged = (text: string) => lines().filter((l) => String(l.msg).includes(text));
    expect(logged("cannot read the broker's positions")).toHaveLength(1);
    expect(logged("cannot read the broker's account")).toHaveLength(1);
    expect(logged("cannot read the broker's open orders")).toHaveLength(1);
    expect(logged('readable again').map((l) => l.read)).toEqual(['positions', 'orders', 'account']);
    expect(await metrics.registry.getSingleMetricAsString('vigil_watchdog_positions_reads_total')).toMatch(
      /outcome="error"[^\n]*} 2/,
    );
    const accountReads = await metrics.registry.getSingleMetricAsString('vigil_watchdog_account_reads_total');
    expect(accountReads).toMatch(/read="account",outcome="error"[^\n]*} 2/);
    expect(accountReads).toMatch(/read="orders",outcome="ok"[^\n]*} 3/);
  });
});
