/** One reading of the broker's clock endpoint, stamped with the local time it arrived. */
export interface ClockSample {
  localMs: number;
  brokerMs: number;
  isOpen: boolean;
  nextOpenMs: number;
  nextCloseMs: number;
}

/**
 * Rates this close to 1 are network jitter on a real-time broker, not a different clock speed: two reads
 * 250 ms apart with 50 ms of jitter already look like 1.2. Simulators run tens to thousands of times faster.
 */
const REAL_TIME_TOLERANCE = 0.5;
/** Two samples closer than this say nothing reliable about the rate. */
const MIN_RATE_SPAN_MS = 200;

/**
 * How fast the broker's clock runs against ours: 1 for Alpaca, hundreds of times faster for an
 * accelerated simulator. Estimated from two samples so the same code is right against both.
 */
export function estimateRate(prev: ClockSample | null, cur: ClockSample, prevRate = 1): number {
  if (!prev) return prevRate;
  const localSpan = cur.localMs - prev.localMs;
  if (localSpan < MIN_RATE_SPAN_MS) return prevRate;
  const rate = (cur.brokerMs - prev.brokerMs) / localSpan;
  if (!Number.isFinite(rate) || rate <= 0) return prevRate;
  return Math.abs(rate - 1) <= REAL_TIME_TOLERANCE ? 1 : rate;
}

/** The broker's time now, projected from the last sample. */
export function projectBrokerTime(sample: ClockSample, rate: number, localNowMs: number): number {
  // Whole milliseconds, as every timestamp it is compared with (and logged next to) is.
  return Math.round(sample.brokerMs + (localNowMs - sample.localMs) * rate);
}

export type MarketPhase = 'open' | 'closed' | 'unknown';

/**
 * Is the market open at broker time `brokerNowMs`? The clock's own `next_close`/`next_open` already
 * include half days and holidays, so a close between two polls is seen the moment it happens. After a
 * projected open we say `open` until the next poll confirms or corrects it. A sample older than
 * `maxSampleAgeMs` (broker unreachable) gives `unknown`, which callers must not read as closed.
 */
export function marketPhase(
  sample: ClockSample | null,
  brokerNowMs: number,
  localNowMs: number,
  maxSampleAgeMs: number,
): MarketPhase {
  if (!sample || localNowMs - sample.localMs > maxSampleAgeMs) return 'unknown';
  if (sample.isOpen) return brokerNowMs < sample.nextCloseMs ? 'open' : 'closed';
  return brokerNowMs >= sample.nextOpenMs ? 'open' : 'closed';
}
