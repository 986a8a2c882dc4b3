import * as z from 'zod';
import { pushLast, type Strategy } from './strategy.js';

export interface MomentumParams {
  /** Compare the close with the close this many bars ago. */
  lookback: number;
  /** Return, in basis points, beyond which the trend counts. */
  thresholdBps: number;
}

const State = z.strictObject({
  closes: z.array(z.number()),
  /** The regime last signalled; a signal fires only when it changes. */
  regime: z.enum(['up', 'down', 'flat']),
});
export type MomentumState = z.infer<typeof State>;

/**
 * Simple momentum: buy when the return over `lookback` bars rises above the threshold, sell when it falls
 * below minus the threshold. Each regime change fires once; a move back inside the band only resets it.
 */
export function momentum(params: MomentumParams): Strategy<MomentumState> {
  if (!(params.lookback >= 1 && params.thresholdBps > 0)) {
    throw new RangeError(
      `momentum needs lookback >= 1 and thresholdBps > 0 (got ${params.lookback}, ${params.thresholdBps})`,
    );
  }
  return {
    name: 'momentum',
    stateSchema: State,
    initial: () => ({ closes: [], regime: 'flat' }),
    step(bar, state) {
      const closes = pushLast(state.closes, bar.close, params.lookback + 1);
      if (closes.length <= params.lookback)
        return { state: { closes, regime: state.regime }, inputs: { close: bar.close, bars: closes.length } };
      const base = closes[0]!;
      const returnBps = ((bar.close - base) / base) * 10_000;
      const inputs = {
        close: bar.close,
        baseClose: base,
        returnBps,
        thresholdBps: params.thresholdBps,
        lookback: params.lookback,
      };
      const regime: MomentumState['regime'] =
        returnBps >= params.thresholdBps ? 'up' : returnBps <= -params.thresholdBps ? 'down' : 'flat';
      const next = { closes, regime };
      if (regime === state.regime || regime === 'flat') return { state: next, inputs };
      const side = regime === 'up' ? ('buy' as const) : ('sell' as const);
      const word = regime === 'up' ? 'above' : 'below';
      return {
        state: next,
        inputs,
        signal: {
          side,
          reason: `${params.lookback}-bar return ${returnBps.toFixed(1)} bps ${word} ±${params.thresholdBps} bps`,
          inputs,
        },
      };
    },
  };
}
