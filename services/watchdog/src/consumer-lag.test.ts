import { describe, expect, it } from 'vitest';
import { emptyLagWatch, onConsumerRead, type LagWatch } from './consumer-lag.js';
import type { Action, AlertDraft } from './drafts.js';

const cfg = { consumerLagAlertMs: 60_000, consumerLagCriticalMs: 180_000 };
const alerts = (actions: Action[]): AlertDraft[] => actions.flatMap((a) => (a.type === 'alert' ? [a.alert] : []));

/** Reads every 10 s from `from` with the given backlogs; returns the alerts raised. */
function reads(w: LagWatch, from: number, pending: number[], barsFlowing = true): AlertDraft[] {
  return pending.flatMap((p, i) =>
    alerts(onConsumerRead(cfg, w, { consumer: 'BARS/strategy', pending: p }, barsFlowing, from + i * 10_000)),
  );
}

describe('consumer_lag', () => {
  it('stays quiet for a consumer that keeps up (backlog empty or emptied between reads)', () => {
    const w = emptyLagWatch();
    expect(reads(w, 0, [0, 3, 0, 0, 5, 0, 2, 0, 0, 0, 1, 0, 0, 4, 0])).toEqual([]);
  });

  it('warns once when the backlog does not shrink for CONSUMER_LAG_ALERT_MS while bars arrive', () => {
    const w = emptyLagWatch();
    // First seen at 0 s with 5 pending, growing: 60 s later it has not caught up.
    const raised = reads(w, 0, [5, 5, 6, 7, 7, 8, 9, 9, 10]);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({
      kind: 'consumer_lag',
      severity: 'warning',
      status: 'open',
      details: { consumer: 'BARS/strategy', pending: 9, stalledSince: '1970-01-01T00:00:00.000Z' },
    });
    expect(raised[0]!.message).toMatch(/BARS\/strategy has 9 messages pending .* 1\.0 min/);
  });

  it('turns critical once at CONSUMER_LAG_CRITICAL_MS, then resolves with its duration when caught up', () => {
    const w = emptyLagWatch();
    const stuck = Array.from({ length: 25 }, () => 40);
    const raised = reads(w, 0, [...stuck, 0]);
    expect(raised.map((a) => [a.severity, a.status])).toEqual([
      ['warning', 'open'],
      ['critical', 'open'],
      ['info', 'resolved'],
    ]);
    expect(new Set(raised.map((a) => a.incidentId)).size).toBe(1);
    // Opened at 60 s, caught up at 250 s.
    expect(raised[2]!.durationMs).toBe(190_000);
  });

  it('resolves when the backlog shrinks on two reads in a row, not on one', () => {
    const w = emptyLagWatch();
    expect(reads(w, 0, [20, 20, 20, 20, 20, 20, 20]).map((a) => a.status)).toEqual(['open']);
    // One smaller read (the stream's limits dropped a message), then stuck again: still open.
    expect(reads(w, 70_000, [19, 19, 19])).toEqual([]);
    const resolved = reads(w, 100_000, [15, 9]);
    expect(resolved.map((a) => a.status)).toEqual(['resolved']);
    expect(resolved[0]!.message).toMatch(/working its backlog down \(9 pending\)/);
  });

  it('counts a new low as progress: a backlog worked down slowly never pages', () => {
    const w = emptyLagWatch();
    expect(reads(w, 0, [50, 50, 50, 50, 50, 49, 49, 49, 49, 49, 48, 48, 48, 48, 48, 47])).toEqual([]);
  });

  it('raises nothing while no fresh bars arrive (no_bar covers that), and pages once they do', () => {
    const w = emptyLagWatch();
    expect(
      reads(
        w,
        0,
        Array.from({ length: 30 }, () => 12),
        false,
      ),
    ).toEqual([]);
    // Stalled all along: with bars arriving again it pages at once, as critical after 3x the wait.
    const raised = reads(w, 300_000, [12]);
    expect(raised.map((a) => a.severity)).toEqual(['warning']);
    expect(reads(w, 310_000, [12]).map((a) => a.severity)).toEqual(['critical']);
  });
});
