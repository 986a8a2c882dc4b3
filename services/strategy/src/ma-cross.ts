import * as z from 'zod';
import { mean, pushLast, type Strategy } from './strategy.js';

export interface MaCrossParams {
  fast: number;
  slow: number;
}

const State = z.strictObject({
  closes: z.array(z.number()),
  /** fast - slow on the previous bar; null until the slow average has enough bars. */
  prevSpread: z.number().nullable(),
});
export type MaCrossState = z.infer<typeof State>;

/**
 * Moving-average crossover: buy when the fast simple average of closes crosses above the slow one, sell
 * when it crosses below. Only a change of sign is a signal, so a trend that persists fires once.
 */
export function maCross(params: MaCrossParams): Strategy<MaCrossState> {
  if (!(params.fast >= 1 && params.slow > params.fast)) {
    throw new RangeError(`ma_cross needs 1 <= fast < slow (got fast=${params.fast}, slow=${params.slow})`);
  }
  return {
    name: 'ma_cross',
    stateSchema: State,
    initial: () => ({ closes: [], prevSpread: null }),
    step(bar, state) {
      const closes = pushLast(state.closes, bar.close, params.slow);
      if (closes.length < params.slow)
        return { state: { closes, prevSpread: null }, inputs: { close: bar.close, bars: closes.length } };
      const fastMa = mean(closes.slice(-params.fast));
      const slowMa = mean(closes);
      const spread = fastMa - slowMa;
      const inputs = {
        close: bar.close,
        fastMa,
        slowMa,
        spread,
        ...(state.prevSpread === null ? {} : { prevSpread: state.prevSpread }),
      };
      const next = { closes, prevSpread: spread };
      if (state.prevSpread === null) return { state: next, inputs };
      if (state.prevSpread <= 0 && spread > 0) {
        return {
          state: next,
          inputs,
          signal: { side: 'buy', reason: `fast MA(${params.fast}) crossed above slow MA(${params.slow})`, inputs },
        };
      }
      if (state.prevSpread >= 0 && spread < 0) {
        return {
          state: next,
          inputs,
          signal: { side: 'sell', reason: `fast MA(${params.fast}) crossed below slow MA(${params.slow})`, inputs },
        };
      }
      return { state: next, inputs };
    },
  };
}
