import { describe, expect, it } from 'vitest';
import { chaosSchedule, dueEntries, entryFault, generateChaos } from './chaos.js';

describe('chaos schedule', () => {
  it('parses entries, fires each once when due, and generates reproducibly', () => {
    const schedule = chaosSchedule.parse([
      { atMinute: 2, fault: 'stall', durationMinutes: 3 },
      { atMinute: 5, fault: { kind: 'rest_error', status: 503 } },
    ]);
    expect(entryFault(schedule[0]!).data).toMatchObject({ kind: 'stall', durationMinutes: 3 });
    expect(dueEntries(schedule, 1, new Set())).toEqual([]);
    expect(dueEntries(schedule, 5, new Set([0]))).toEqual([1]);
    expect(generateChaos(3, 60, 5)).toEqual(generateChaos(3, 60, 5));
    for (const e of generateChaos(3, 60, 20)) expect(entryFault(e).success).toBe(true);
  });
});
