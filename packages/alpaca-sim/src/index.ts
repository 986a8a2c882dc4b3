export { startSim, Sim, DEFAULT_KEYS, DEFAULT_SYMBOLS, type SimOptions } from './sim.js';
export { SimClock, DEFAULT_START_MS, type ClockState } from './clock.js';
export { FaultBook, parseFault, type Fault, type FaultKind, type FaultSpec } from './faults.js';
export { generateChaos, chaosSchedule, type ChaosEntry } from './chaos.js';
export {
  barForMinute,
  historicalBars,
  tradesInMinute,
  type Bar,
  type Trade,
  type Quote,
  type MarketModel,
} from './bars.js';
export { FEEDS } from './stream-server.js';
export type { Broker, Order } from './broker.js';
