import * as z from 'zod';
import { parseFault, type FaultSpec } from './faults.js';
import { rand } from './prices.js';

export const chaosEntry = z.object({
  atMinute: z.number().min(0),
  fault: z.union([z.string().min(1), z.looseObject({ kind: z.string().min(1) })]),
  durationMinutes: z.number().positive().optional(),
});
export const chaosSchedule = z.array(chaosEntry).max(10_000);
export type ChaosEntry = z.infer<typeof chaosEntry>;

/** The fault an entry injects, with its duration in simulated minutes. */
export function entryFault(entry: ChaosEntry): z.ZodSafeParseResult<FaultSpec> {
  const base = typeof entry.fault === 'string' ? { kind: entry.fault } : entry.fault;
  return parseFault(entry.durationMinutes !== undefined ? { ...base, durationMinutes: entry.durationMinutes } : base);
}

/** Entries due at `elapsedMinutes` that have not fired yet (indexes into the schedule). */
export function dueEntries(
  schedule: readonly ChaosEntry[],
  elapsedMinutes: number,
  fired: ReadonlySet<number>,
): number[] {
  return schedule.flatMap((e, i) => (e.atMinute <= elapsedMinutes && !fired.has(i) ? [i] : []));
}

const STREAM_FAULTS = [
  'drop',
  'blackhole',
  'stall',
  'late_bars',
  'duplicate_bars',
  'out_of_order',
  'malformed_frames',
  'rest_error',
  'unsubscribe',
  'auth_silent',
];

/** A reproducible random schedule: `count` faults spread over `minutes`, each lasting 1–5 minutes. */
export function generateChaos(
  seed: number,
  minutes: number,
  count: number,
  kinds: readonly string[] = STREAM_FAULTS,
): ChaosEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    atMinute: Math.floor(rand(seed, 'chaos', i, 'at') * minutes),
    fault: kinds[Math.floor(rand(seed, 'chaos', i, 'kind') * kinds.length)]!,
    durationMinutes: 1 + Math.floor(rand(seed, 'chaos', i, 'len') * 5),
  })).sort((a, b) => a.atMinute - b.atMinute);
}
