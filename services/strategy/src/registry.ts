import type { StrategyConfig } from './config.js';
import { maCross } from './ma-cross.js';
import { momentum } from './momentum.js';
import type { Strategy } from './strategy.js';

/** The strategy named by `STRATEGY`, with its parameters from config. */
export function pickStrategy(
  config: Pick<StrategyConfig, 'STRATEGY' | 'MA_FAST' | 'MA_SLOW' | 'MOMENTUM_LOOKBACK' | 'MOMENTUM_THRESHOLD_BPS'>,
): Strategy {
  switch (config.STRATEGY) {
    case 'ma_cross':
      return maCross({ fast: config.MA_FAST, slow: config.MA_SLOW }) as Strategy;
    case 'momentum':
      return momentum({ lookback: config.MOMENTUM_LOOKBACK, thresholdBps: config.MOMENTUM_THRESHOLD_BPS }) as Strategy;
  }
}
