import type { AlpacaRest, Logger, Metrics } from '@vigil/service-kit';
import type { SymbolUniverse } from './universe.js';
import { activeAssets } from './universe-sources.js';

export interface UniverseRefresherDeps {
  assets: AlpacaRest['assets'];
  universe: SymbolUniverse;
  /** How often the assets are read again once a read succeeded. */
  intervalMs: number;
  /** After a failed read: sooner than the interval, as the universe may be missing symbols until it succeeds. */
  retryMs?: number;
  /** The universe grew: its new symbols' gaps are to be backfilled. */
  onGrown: (added: number) => void;
  logger: Logger;
  metrics: Metrics;
}

/**
 * SYMBOLS=*: reads the broker's active assets at start and then every `intervalMs`, so backfill and the audit cover
 * symbols the stream has not shown yet (a quiet symbol whose bars came only during an outage). The stream and BARS
 * keep the gateway complete without it; a failed read is logged, counted and tried again in `retryMs`.
 */
export class UniverseRefresher {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failing = false;
  private readonly log: Logger;
  private readonly reads;

  constructor(private readonly deps: UniverseRefresherDeps) {
    this.log = deps.logger.child({ component: 'universe' });
    this.reads = deps.metrics.counter('gateway_universe_reads_total', 'Reads of the active assets, by outcome', [
      'outcome',
    ]);
  }

  start(): void {
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  async refresh(): Promise<void> {
    let next = this.deps.intervalMs;
    try {
      const { symbols, skipped } = await activeAssets(this.deps.assets);
      const added = this.deps.universe.add(symbols);
      this.reads.inc({ outcome: 'ok' });
      if (this.failing) this.log.info('active assets read again');
      this.failing = false;
      this.log.info(
        { assets: symbols.length, skipped, added, universe: this.deps.universe.size },
        added > 0 ? 'symbol universe grew from the active assets' : 'symbol universe checked against the active assets',
      );
      if (added > 0) this.deps.onGrown(added);
    } catch (err) {
      this.reads.inc({ outcome: 'failed' });
      next = this.deps.retryMs ?? 30_000;
      if (!this.failing)
        this.log.warn(
          { err, retryMs: next },
          'cannot read the active assets; the universe is what BARS and the stream show until it can',
        );
      this.failing = true;
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.refresh(), next);
  }
}
