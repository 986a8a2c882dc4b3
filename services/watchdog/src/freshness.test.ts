import { describe, expect, it } from 'vitest';
import { showsFreshData } from './freshness.js';

const T = (hhmm: string) => Date.parse(`2026-11-27T${hhmm}:00Z`);

describe('showsFreshData', () => {
  it('counts a bar that ended within NO_BAR_ALERT_MS, not one from a backfill of an outage', () => {
    expect(showsFreshData(T('15:31'), T('15:31') + 2_000, 1, 120_000)).toBe(true);
    expect(showsFreshData(T('15:25'), T('15:31'), 1, 300_000)).toBe(false);
    expect(showsFreshData(T('15:00'), T('15:31'), 1, 120_000)).toBe(false);
  });

  it('converts NO_BAR_ALERT_MS by the broker clock speed: 1.5 s of ours are 6 market minutes at 240x', () => {
    expect(showsFreshData(T('15:26'), T('15:31'), 240, 1_500)).toBe(true);
    expect(showsFreshData(T('15:24'), T('15:31'), 240, 1_500)).toBe(false);
  });

  it('never calls a bar of the last two minutes old, however short the threshold', () => {
    expect(showsFreshData(T('15:30'), T('15:31') + 50_000, 1, 600)).toBe(true);
    expect(showsFreshData(T('15:28'), T('15:31') + 50_000, 1, 600)).toBe(false);
  });

  it('counts every bar when the broker clock has not been read', () => {
    expect(showsFreshData(T('09:00'), null, 1, 120_000)).toBe(true);
  });
});
