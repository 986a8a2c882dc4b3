import type { Feed } from '@vigil/contracts';
import { opensGap } from './backfill.js';
import { barFromWire, type RejectBar } from './bars.js';
import type { BarPublisher } from './publisher.js';
import type { StreamBar } from './supervisor.js';
import type { SymbolUniverse } from './universe.js';

export interface LiveBarDeps {
  universe: Pick<SymbolUniverse, 'wants' | 'learn'>;
  feed: Feed;
  /** Bars are stamped on the broker's clock, the one their `t` is on. */
  brokerNow: () => number;
  publisher: Pick<BarPublisher, 'offer' | 'offerCorrection' | 'newestSeen'>;
  /** The gap filler: checks a symbol's minutes against REST when its live bar skips them. */
  gaps: { checkGap: (symbol: string, liveT: number) => void };
  rejectBar: RejectBar;
}

/**
 * What the gateway does with each bar off the stream: drop symbols it did not ask for, check the bar against the
 * contract (a bad one is reported and dropped), learn its symbol under `*`, start a gap check when it skips minutes,
 * and offer it (a `u` as a correction). One function, so the burst benchmark runs the same path as the gateway.
 */
export function liveBarHandler(deps: LiveBarDeps): (wire: StreamBar) => void {
  const { universe, publisher, gaps } = deps;
  return (wire) => {
    if (!universe.wants(wire.S)) return;
    const converted = barFromWire(wire, wire.S, 'live', deps.feed, new Date(deps.brokerNow()));
    if (!converted.ok) return deps.rejectBar(wire.S, 'live', wire, converted.error);
    universe.learn(wire.S);
    const t = Date.parse(wire.t);
    if (wire.T === 'b' && opensGap(t, publisher.newestSeen(wire.S))) gaps.checkGap(wire.S, t);
    if (wire.T === 'u') publisher.offerCorrection(converted.bar);
    else publisher.offer(converted.bar);
  };
}
