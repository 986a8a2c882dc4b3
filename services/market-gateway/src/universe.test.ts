import { describe, expect, it } from 'vitest';
import { newestSymbols, SymbolUniverse } from './universe.js';

describe('SymbolUniverse', () => {
  it('keeps a fixed list fixed: subscribes to it, wants only it, learns nothing', () => {
    const u = new SymbolUniverse(['SPY', 'AAPL']);
    expect(u.subscription()).toEqual(['SPY', 'AAPL']);
    expect([u.wants('SPY'), u.wants('TSLA')]).toEqual([true, false]);
    expect(u.add(['TSLA'])).toBe(0);
    expect(u.list()).toEqual(['SPY', 'AAPL']);
  });

  it('under * subscribes to the wildcard, wants any valid ticker and learns the symbols it is told of', () => {
    const u = new SymbolUniverse(['*']);
    expect(u.subscription()).toEqual(['*']);
    expect(u.list()).toEqual([]);
    expect([u.wants('TSLA'), u.wants('BRK.B'), u.wants('not a ticker'), u.wants('*')]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(u.add(['TSLA', 'SPY', 'TSLA', 'bad one'])).toBe(2);
    expect(u.add(['SPY'])).toBe(0);
    expect([u.learn('QQQ'), u.learn('QQQ'), u.learn('bad one')]).toEqual([true, false, false]);
    expect(u.list()).toEqual(['TSLA', 'SPY', 'QQQ']);
    expect(u.describe()).toBe('* (3 known)');
  });

  it('hands out the same array until the universe grows', () => {
    const u = new SymbolUniverse(['*']);
    u.add(['B', 'A']);
    const first = u.list();
    expect(u.list()).toBe(first);
    u.add(['C']);
    expect(u.list()).not.toBe(first);
    expect(u.list()).toEqual(['B', 'A', 'C']);
  });
});

describe('newestSymbols', () => {
  it('names the most recently stored symbols, newest first', () => {
    const stored = new Map([
      ['A', 1],
      ['B', 3],
      ['C', 2],
      ['D', 3],
    ]);
    expect(newestSymbols(stored, 3)).toEqual([
      ['B', 3],
      ['D', 3],
      ['C', 2],
    ]);
  });
});
