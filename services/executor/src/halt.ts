import type { ExecutorHaltState } from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';
import type { ExecutorState } from './executor-state.js';

/**
 * Whether new orders may go out. Kept in memory for the signal path and persisted in KV so it survives a
 * restart. Halting takes effect in memory first (a failed write must not leave us trading); resuming is
 * persisted first (a failed write must not leave us trading after a restart either).
 */
export class HaltSwitch {
  private state: ExecutorHaltState = { halted: false, since: null, reason: null, incidentId: null };
  private readonly log: Logger;
  private readonly changes;
  private readonly haltedGauge;

  constructor(
    private readonly store: ExecutorState,
    logger: Logger,
    metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {
    this.log = logger.child({ component: 'halt' });
    this.changes = metrics.counter('halt_changes_total', 'Halt state changes', ['to']);
    this.haltedGauge = metrics.gauge('halted', '1 while the executor is halted');
  }

  async load(): Promise<ExecutorHaltState> {
    this.state = await this.store.halt();
    this.gauge();
    if (this.state.halted) this.log.warn({ halt: this.state }, 'starting halted (state from before the restart)');
    return this.state;
  }

  current(): ExecutorHaltState {
    return this.state;
  }

  /** Halt (idempotent: an existing halt keeps its time, reason and incident). */
  async halt(reason: string, incidentId: string | null): Promise<ExecutorHaltState> {
    if (!this.state.halted) {
      this.state = { halted: true, since: new Date(this.now()).toISOString(), reason, incidentId };
      this.gauge();
      this.changes.inc({ to: 'halted' });
      this.log.warn({ halt: this.state }, 'executor halted: no new orders');
    }
    await this.store.setHalt(this.state);
    return this.state;
  }

  async resume(reason: string): Promise<ExecutorHaltState> {
    const next = { halted: false, since: null, reason: null, incidentId: null };
    await this.store.setHalt(next);
    if (this.state.halted) {
      this.changes.inc({ to: 'resumed' });
      this.log.warn({ previous: this.state, reason }, 'executor resumed: orders allowed again');
    }
    this.state = next;
    this.gauge();
    return this.state;
  }

  private gauge(): void {
    this.haltedGauge.set(this.state.halted ? 1 : 0);
  }
}
