import type { DataPath } from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';

export interface DataPathInputs {
  /** The live stream is subscribed and delivering. */
  streaming: boolean;
  /** A REST gap backfill is running, the live bars held behind it. */
  backfilling: boolean;
  /** The OutagePoller is polling REST. */
  polling: boolean;
}

/**
 * How bars reach the bus now. The stream decides first: a backfill only delays a stream that is up, and
 * polling only stands in for one that is down (the poller notices the stream's return a tick late).
 */
export function dataPath({ streaming, backfilling, polling }: DataPathInputs): DataPath {
  if (streaming) return backfilling ? 'backfill' : 'live';
  return polling ? 'polling' : 'none';
}

// Best first: a held-up stream still beats REST polling, and polling beats nothing.
const rank: Record<DataPath, number> = { live: 0, backfill: 1, polling: 2, none: 3 };

const why: Record<DataPath, string> = {
  live: 'live stream streaming',
  backfill: 'live stream up, but a REST backfill is running and its live bars wait behind it',
  polling: 'live stream down; REST polling carries the bars',
  none: 'live stream down and no REST polling (not down long enough yet, or the market is closed)',
};

export interface DataPathTrackerDeps {
  /** The gateway's clock: the contract stamps `dataPathSince` with it, not the broker's. */
  now: () => number;
  logger: Logger;
  metrics: Metrics;
}

/** Remembers since when the data path has been what it is, and logs and counts each change once. */
export class DataPathTracker {
  // A gateway that has just started carries nothing yet.
  private path: DataPath = 'none';
  private since: number;
  private readonly log: Logger;
  private readonly changes;

  constructor(private readonly deps: DataPathTrackerDeps) {
    this.since = deps.now();
    this.log = deps.logger.child({ component: 'data-path' });
    this.changes = deps.metrics.counter('gateway_data_path_changes_total', 'Data path changes by new path', ['path']);
    const self = this;
    deps.metrics.gauge('gateway_data_path', '1 for the current data path', ['path'], function () {
      this.reset();
      this.set({ path: self.path }, 1);
    });
  }

  /** Fold in what is true now; `feed` (the feed's state and reason) goes into the log of a change. */
  observe(inputs: DataPathInputs, feed: string): { path: DataPath; since: number } {
    const next = dataPath(inputs);
    if (next !== this.path) {
      const from = this.path;
      this.path = next;
      this.since = this.deps.now();
      this.changes.inc({ path: next });
      // Losing the stream is what an operator must hear about; a gap backfill behind a live stream is routine
      // (a quiet symbol's gap starts one), and a better path is recovery.
      this.log[rank[next] > rank[from] && next !== 'backfill' ? 'warn' : 'info'](
        { from, to: next, why: why[next], feed },
        `data path ${next}`,
      );
    }
    return { path: this.path, since: this.since };
  }
}
