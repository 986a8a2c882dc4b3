import { describe, expect, it } from 'vitest';
import type { WireBar } from './alpaca-messages.js';
import { auditSymbol, auditWindow, sameValues, type BarValues } from './audit.js';

const MIN = 60_000;
const T0 = Date.parse('2026-12-01T15:00:00Z');
const at = (m: number) => T0 + m * MIN;
const wire = (m: number, c = 100): WireBar => ({
  t: new Date(at(m)).toISOString(),
  o: c,
  h: c,
  l: c,
  c,
  v: 10,
  n: 2,
  vw: c,
});
const values = (c = 100): BarValues => ({ open: c, high: c, low: c, close: c, volume: 10, tradeCount: 2, vwap: c });
const minutes = (m: number) => new Date(at(m)).toISOString();

describe('auditWindow', () => {
  it('covers windowMs back to the last minute that ended lagMs ago', () => {
    // now 15:30:10, window 10 min, lag 90 s: the 15:28 bar ended 15:29:00, 70 s ago (too recent); 15:27 ended 130 s ago.
    expect(auditWindow(at(30) + 10_000, 10 * MIN, 90_000)).toEqual({ start: at(20), through: at(27) });
  });

  it('is null when the lag leaves no minute of the window', () => {
    expect(auditWindow(at(30), MIN, 5 * MIN)).toBeNull();
  });
});

describe('auditSymbol', () => {
  const window = { start: at(0), through: at(10) };

  it('finds nothing when every REST minute is stored with its values', () => {
    const stored = new Map([0, 1, 2].map((m) => [at(m), values()]));
    expect(auditSymbol([wire(0), wire(1), wire(2)], stored, at(2), window)).toEqual({
      unconfirmed: [],
      revised: [],
      beyond: [],
    });
  });

  it('sends minutes it has no record of to the stream to check, oldest first', () => {
    const stored = new Map([[at(2), values()]]);
    const found = auditSymbol([wire(1), wire(0), wire(2)], stored, at(2), window);
    expect(found.unconfirmed.map((b) => b.t)).toEqual([minutes(0), minutes(1)]);
  });

  it('revises a stored bar whose values REST gives differently, but not one stored with values unknown', () => {
    const stored = new Map<number, BarValues | null>([
      [at(0), values(100)],
      [at(1), null],
    ]);
    const found = auditSymbol([wire(0, 101), wire(1, 101)], stored, at(1), window);
    expect(found.revised.map((b) => b.t)).toEqual([minutes(0)]);
    expect(found.unconfirmed).toEqual([]);
  });

  it("offers REST bars after the symbol's newest stored bar as new bars, up to the window's end", () => {
    const stored = new Map([[at(3), values()]]);
    const found = auditSymbol([wire(3), wire(5), wire(11)], stored, at(3), window);
    expect(found.beyond.map((b) => b.t)).toEqual([minutes(5)]);
  });

  it('offers every bar in the window as new for a symbol never stored', () => {
    const found = auditSymbol([wire(4), wire(2)], new Map(), undefined, window);
    expect(found.beyond.map((b) => b.t)).toEqual([minutes(2), minutes(4)]);
  });

  it('ignores REST bars outside the window', () => {
    const found = auditSymbol([wire(-1), wire(11)], new Map(), at(20), window);
    expect(found).toEqual({ unconfirmed: [], revised: [], beyond: [] });
  });
});

describe('sameValues', () => {
  it.each([
    ['open', { o: 99 }],
    ['high', { h: 101 }],
    ['low', { l: 99 }],
    ['close', { c: 99 }],
    ['volume', { v: 11 }],
    ['trade count', { n: 3 }],
    ['vwap', { vw: 100.5 }],
  ])('tells a different %s', (_, change) => {
    expect(sameValues(values(), { ...wire(0), ...change })).toBe(false);
  });

  it('takes the close for a missing vwap, as the bar conversion does', () => {
    const { vw: _vw, ...noVwap } = wire(0);
    expect(sameValues(values(), noVwap)).toBe(true);
  });
});
