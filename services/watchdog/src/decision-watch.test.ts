import { describe, expect, it } from 'vitest';
import { emptyDecisionWatch, forgetOwed, onDecisions, onFreshBar, owedSince } from './decision-watch.js';

const M = 60_000;

describe('decision watch', () => {
  it('owes nothing while each bar is decided on, whichever of the two is seen first', () => {
    const w = emptyDecisionWatch();
    onFreshBar(w, 'SPY', 0, 1_000);
    onDecisions(w, { SPY: 0 }, 1_010);
    expect(owedSince(w, 'SPY')).toBeNull();
    // The strategy was faster than the watchdog for the next bar.
    onDecisions(w, { SPY: M }, 61_000);
    onFreshBar(w, 'SPY', M, 61_020);
    expect(owedSince(w, 'SPY')).toBeNull();
  });

  it('owes from the first undecided bar, and keeps owing while decisions stop', () => {
    const w = emptyDecisionWatch();
    onDecisions(w, { SPY: 0 }, 1_000);
    onFreshBar(w, 'SPY', M, 61_000);
    onFreshBar(w, 'SPY', 2 * M, 121_000);
    onDecisions(w, { SPY: 0 }, 125_000); // alive, but deciding nothing new
    expect(owedSince(w, 'SPY')).toBe(61_000);
    expect(w.strategySeenAt).toBe(125_000);
  });

  it('a strategy one bar behind owes only from its oldest undecided bar, not from the first ever', () => {
    const w = emptyDecisionWatch();
    onFreshBar(w, 'SPY', 0, 1_000);
    onFreshBar(w, 'SPY', M, 61_000);
    onDecisions(w, { SPY: 0 }, 62_000);
    expect(owedSince(w, 'SPY')).toBe(61_000);
    onFreshBar(w, 'SPY', 2 * M, 121_000);
    onDecisions(w, { SPY: M }, 122_000);
    expect(owedSince(w, 'SPY')).toBe(121_000);
  });

  it('ignores a correction of a bar already decided on, and a repeated bar', () => {
    const w = emptyDecisionWatch();
    onDecisions(w, { SPY: M }, 61_000);
    onFreshBar(w, 'SPY', M, 62_000);
    expect(owedSince(w, 'SPY')).toBeNull();
    onFreshBar(w, 'SPY', 2 * M, 121_000);
    onFreshBar(w, 'SPY', 2 * M, 122_000);
    expect(w.owed.SPY).toHaveLength(1);
  });

  it('keeps the oldest undecided bar however many follow, and forgets all at the close', () => {
    const w = emptyDecisionWatch();
    for (let i = 1; i <= 100; i++) onFreshBar(w, 'SPY', i * M, i * 1_000);
    expect(owedSince(w, 'SPY')).toBe(1_000);
    expect(w.owed.SPY!.length).toBeLessThanOrEqual(32);
    forgetOwed(w);
    expect(owedSince(w, 'SPY')).toBeNull();
  });
});
