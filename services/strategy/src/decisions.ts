import type { BarSource, Decision } from '@vigil/contracts';

/** One decision as recorded, before the heartbeat turns its time into an age. */
export interface DecisionRecord {
  barT: string;
  barSource: BarSource;
  outcome: Decision['outcome'];
  decidedAt: number;
}

/**
 * The last bar decided on per symbol (judged fresh and run through the strategy, signal or not), for the
 * strategy heartbeat: the watchdog pages when a symbol held at the broker stops being decided on.
 */
export class DecisionLog {
  private readonly last = new Map<string, DecisionRecord>();

  record(symbol: string, d: DecisionRecord): void {
    this.last.set(symbol, d);
  }

  /** As the heartbeat carries them: each decision's age at `sentAt`, so no reader needs to trust our clock. */
  snapshot(sentAt: number): Record<string, Decision> {
    return Object.fromEntries(
      [...this.last].map(([symbol, d]) => [
        symbol,
        {
          barT: d.barT,
          barSource: d.barSource,
          outcome: d.outcome,
          decidedAt: new Date(d.decidedAt).toISOString(),
          ageMs: Math.max(0, sentAt - d.decidedAt),
        },
      ]),
    );
  }
}
