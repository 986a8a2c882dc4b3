import { describe, expect, it } from 'vitest';
import { healthySink, nextSinkHealth, sinkFailingDraft, type SinkHealth, type SinkOutcome } from './sink-health.js';

const limits = { afterFailures: 2, afterMs: 60_000 };

/** Plays outcomes at the given times and returns every change raised. */
function play(steps: [SinkOutcome, number][], from: SinkHealth = healthySink) {
  let h = from;
  const changes = [];
  for (const [outcome, at] of steps) {
    const r = nextSinkHealth(h, outcome, at, limits);
    h = r.health;
    if (r.change) changes.push(r.change);
  }
  return { health: h, changes };
}

describe('nextSinkHealth', () => {
  it('raises once after the give-ups in a row, however many more follow, and resolves on the next delivery', () => {
    const { changes, health } = play([
      ['retry', 1_000],
      ['gave_up', 2_000],
      ['gave_up', 3_000],
      ['gave_up', 4_000],
      ['retry', 5_000],
      ['delivered', 9_000],
    ]);
    expect(changes).toEqual([
      { to: 'failing', since: 1_000, failures: 2 },
      { to: 'recovered', since: 1_000, failedForMs: 8_000 },
    ]);
    expect(health).toEqual(healthySink);
  });

  it('a delivery between give-ups starts the count again: failures must be in a row', () => {
    expect(
      play([
        ['gave_up', 1],
        ['delivered', 2],
        ['gave_up', 3],
        ['delivered', 4],
      ]).changes,
    ).toEqual([]);
  });

  it('raises on time alone: failed attempts for afterMs without a delivery', () => {
    const { changes } = play([
      ['retry', 0],
      ['retry', 59_999],
      ['retry', 60_000],
    ]);
    expect(changes).toEqual([{ to: 'failing', since: 0, failures: 0 }]);
  });

  it('a delivery that was never alerted on resolves nothing', () => {
    expect(
      play([
        ['gave_up', 0],
        ['delivered', 1],
      ]).changes,
    ).toEqual([]);
  });
});

describe('sinkFailingDraft', () => {
  it('opens a warning and resolves the same incident, naming the sink and the last error', () => {
    const open = sinkFailingDraft('pagerduty', { to: 'failing', since: 0, failures: 2 }, 'pagerduty answered HTTP 503');
    const resolved = sinkFailingDraft('pagerduty', { to: 'recovered', since: 0, failedForMs: 90_000 }, null);
    expect(open).toMatchObject({
      kind: 'sink_failing',
      severity: 'warning',
      status: 'open',
      details: { sink: 'pagerduty', failures: 2, lastError: 'pagerduty answered HTTP 503' },
    });
    expect(open.message).toContain('alert sink pagerduty keeps failing');
    expect(resolved).toMatchObject({ kind: 'sink_failing', status: 'resolved', durationMs: 90_000 });
    expect(resolved.incidentId).toBe(open.incidentId);
  });
});
