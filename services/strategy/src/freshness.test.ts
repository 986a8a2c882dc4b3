import { describe, expect, it } from 'vitest';
import { bar, T0 } from '../test/bars.js';
import { freshness } from './freshness.js';

const ALL = ['live', 'backfill', 'poll'] as const;

describe('freshness', () => {
  const end = T0 + 60_000;

  it('accepts a live bar within the window of broker time', () => {
    expect(freshness(bar(0, 10), end + 500, 90_000, ALL)).toEqual({ fresh: true, ageMs: 500 });
    expect(freshness(bar(0, 10), end + 90_000, 90_000, ALL).fresh).toBe(true);
  });

  it('refuses a live bar older than the window', () => {
    const f = freshness(bar(0, 10), end + 90_001, 90_000, ALL);
    expect(f).toMatchObject({ fresh: false, ageMs: 90_001 });
  });

  it('judges polled and backfilled bars by their age, not by how they came', () => {
    expect(freshness(bar(0, 10, { source: 'poll' }), end + 20_000, 90_000, ALL)).toEqual({
      fresh: true,
      ageMs: 20_000,
    });
    expect(freshness(bar(0, 10, { source: 'backfill' }), end + 90_000, 90_000, ALL)).toEqual({
      fresh: true,
      ageMs: 90_000,
    });
    expect(freshness(bar(0, 10, { source: 'backfill' }), end + 90_001, 90_000, ALL)).toMatchObject({
      fresh: false,
      reason: /over 90000/,
    });
  });

  it('refuses sources that SIGNAL_SOURCES leaves out, however fresh', () => {
    expect(freshness(bar(0, 10, { source: 'poll' }), end, 90_000, ['live'])).toMatchObject({
      fresh: false,
      reason: /poll.*SIGNAL_SOURCES/,
    });
    expect(freshness(bar(0, 10), end, 90_000, ['live']).fresh).toBe(true);
  });

  it('refuses everything until the broker clock has been read', () => {
    expect(freshness(bar(0, 10), null, 90_000, ALL)).toMatchObject({ fresh: false, ageMs: null });
  });

  it('refuses a bar far ahead of broker time', () => {
    expect(freshness(bar(10, 10), end, 60_000, ALL)).toMatchObject({ fresh: false, reason: /clock/ });
  });
});
