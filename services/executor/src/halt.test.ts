import { type ExecutorHaltState, NOT_HALTED } from '@vigil/contracts';
import { describe, expect, it } from 'vitest';
import { resumeRefusal } from './halt.js';

const halted = (over: Partial<ExecutorHaltState> = {}): ExecutorHaltState => ({
  halted: true,
  since: '2026-11-27T15:32:00Z',
  reason: 'stale',
  incidentId: 'stale-1',
  by: 'watchdog',
  flattened: false,
  ...over,
});
const watchdog = (incidentId: string | null) => ({ by: 'watchdog' as const, reason: 'fresh again', incidentId });
const person = { by: 'person' as const, reason: 'checked the account', incidentId: null };

describe('resumeRefusal', () => {
  it('lets the watchdog lift its own halt for the incident it names, and nothing else', () => {
    expect(resumeRefusal(halted(), watchdog('stale-1'), 'manual')).toBeNull();
    expect(resumeRefusal(halted(), watchdog('stale-2'), 'manual')).toMatch(/halt is for incident stale-1, not stale-2/);
    expect(resumeRefusal(halted(), watchdog(null), 'manual')).toMatch(/not \(none\)/);
  });

  it('keeps a halt a person set for a person', () => {
    expect(resumeRefusal(halted({ by: 'person' }), watchdog('stale-1'), 'manual')).toMatch(/only a person/);
    expect(resumeRefusal(halted({ by: 'person' }), person, 'manual')).toBeNull();
  });

  it('after a flatten, needs a person unless RESUME_AFTER_FLATTEN=auto', () => {
    expect(resumeRefusal(halted({ flattened: true }), watchdog('stale-1'), 'manual')).toMatch(
      /flattened: a person must resume/,
    );
    expect(resumeRefusal(halted({ flattened: true }), watchdog('stale-1'), 'auto')).toBeNull();
    expect(resumeRefusal(halted({ flattened: true }), person, 'manual')).toBeNull();
  });

  it('reads a halt stored before `by` existed (null) as the watchdog may lift it only for its incident', () => {
    expect(resumeRefusal(halted({ by: null }), watchdog('stale-1'), 'manual')).toBeNull();
    expect(resumeRefusal(NOT_HALTED, watchdog(null), 'manual')).toBeNull();
  });

  it('lets the watchdog lift a self-halt only once its health report arrived after the halt', () => {
    const self = halted({ by: 'executor', incidentId: null });
    const since = Date.parse('2026-11-27T15:32:00Z');
    expect(resumeRefusal(self, watchdog('stale-9'), 'manual')).toMatch(/has not heard the watchdog since/);
    expect(resumeRefusal(self, watchdog('stale-9'), 'manual', since - 1)).toMatch(/has not heard the watchdog/);
    expect(resumeRefusal(self, watchdog('stale-9'), 'manual', since + 10_000)).toBeNull();
    expect(resumeRefusal(self, person, 'manual')).toBeNull();
    expect(resumeRefusal({ ...self, flattened: true }, watchdog(null), 'manual', since + 10_000)).toMatch(/flattened/);
  });
});
