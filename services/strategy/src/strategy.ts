import type { Bar, Side } from '@vigil/contracts';
import type * as z from 'zod';

/** What a strategy wants to do on a bar; the service turns it into a `Signal` only if the bar is fresh and live. */
export interface SignalIntent {
  side: Side;
  reason: string;
  /** The indicator values that led to it, logged and carried on the signal. */
  inputs: Record<string, number>;
}

export interface StepResult<S> {
  state: S;
  signal?: SignalIntent;
  /** Indicator values on every bar, signal or not, for the decision log. */
  inputs: Record<string, number>;
}

/**
 * A strategy is pure: the same bars in the same order always give the same states and signals. Its state
 * is plain JSON so it can be stored between restarts and validated when read back.
 */
export interface Strategy<S = unknown> {
  /** Also the first part of the signal id, so it must be a lower-case token. */
  readonly name: string;
  readonly stateSchema: z.ZodType<S>;
  initial(): S;
  step(bar: Bar, state: S): StepResult<S>;
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Append and keep only the last `n` values. */
export function pushLast(values: readonly number[], value: number, n: number): number[] {
  return [...values, value].slice(-n);
}
