import { type CommandActor, type ExecutorHaltState, type HaltActor, NOT_HALTED } from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';
import type { ExecutorState } from './executor-state.js';

/** After a flatten: only a person resumes (`manual`), or the watchdog's resume for the incident is enough (`auto`). */
export type ResumeAfterFlatten = 'manual' | 'auto';

export interface ResumeRequest {
  by: CommandActor;
  reason: string;
  incidentId: string | null;
}

/**
 * May this resume clear the halt? A person may always. The watchdog may clear only a halt it set, for the
 * incident it names, and not after a flatten unless RESUME_AFTER_FLATTEN=auto: a flattened account stays
 * out of the market until someone has looked. A self-halt (`by: executor`, no incident) it may clear once
 * its health report has been heard since the halt (`watchdogHeardAt`, same clock as `since`): the watchdog
 * silence that caused it is over. Returns why not, or null. Pure.
 */
export function resumeRefusal(
  halt: ExecutorHaltState,
  req: ResumeRequest,
  afterFlatten: ResumeAfterFlatten,
  watchdogHeardAt: number | null = null,
): string | null {
  if (!halt.halted || req.by === 'person') return null;
  if (halt.by === 'person') return 'halted by a person: only a person can resume (a request with "by":"person")';
  if (halt.flattened && afterFlatten === 'manual')
    return 'positions were flattened: a person must resume (RESUME_AFTER_FLATTEN=manual)';
  if (halt.by === 'executor') {
    const heard = watchdogHeardAt !== null && halt.since !== null && watchdogHeardAt >= Date.parse(halt.since);
    return heard
      ? null
      : 'the executor halted itself and has not heard the watchdog since: a person must resume, or the watchdog once its health reports arrive again';
  }
  if (halt.incidentId !== req.incidentId)
    return `the halt is for incident ${halt.incidentId ?? '(none)'}, not ${req.incidentId ?? '(none)'}`;
  return null;
}

/** The error a refused resume raises: the halt stays, and the reply says why. */
export class ResumeRefused extends Error {
  override name = 'ResumeRefused';
}

/**
 * Whether new orders may go out. Kept in memory for the signal path and persisted in KV so it survives a
 * restart. Halting takes effect in memory first (a failed write must not leave us trading); resuming is
 * persisted first (a failed write must not leave us trading after a restart either).
 */
export class HaltSwitch {
  private state: ExecutorHaltState = NOT_HALTED;
  private readonly log: Logger;
  private readonly changes;
  private readonly refusals;
  private readonly haltedGauge;

  constructor(
    private readonly store: ExecutorState,
    logger: Logger,
    metrics: Metrics,
    private readonly afterFlatten: ResumeAfterFlatten = 'manual',
    private readonly now: () => number = Date.now,
    /** When the watchdog's health report last arrived (`now`'s clock): lets its resume lift a self-halt. */
    private readonly watchdogHeardAt: () => number | null = () => null,
  ) {
    this.log = logger.child({ component: 'halt' });
    this.changes = metrics.counter('executor_halt_changes_total', 'Halt state changes', ['to']);
    this.refusals = metrics.counter('executor_resume_refusals_total', 'Resume requests refused, the halt kept');
    this.haltedGauge = metrics.gauge('executor_halted', '1 while the executor is halted');
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

  /**
   * Halt (idempotent: an existing halt keeps its time, reason and incident). A person halting over the
   * watchdog's halt makes it theirs, so the watchdog cannot lift it.
   */
  async halt(reason: string, incidentId: string | null, by: HaltActor = 'person'): Promise<ExecutorHaltState> {
    if (!this.state.halted) {
      this.state = {
        halted: true,
        since: new Date(this.now()).toISOString(),
        reason,
        incidentId,
        by,
        flattened: false,
      };
      this.changes.inc({ to: 'halted' });
      this.log.warn({ halt: this.state }, 'executor halted: no new orders');
    } else if (by === 'person' && this.state.by !== 'person') {
      this.state = { ...this.state, by, reason };
      this.log.warn({ halt: this.state }, 'a person took over the halt: only a person can resume it');
    }
    this.gauge();
    await this.store.setHalt(this.state);
    return this.state;
  }

  /** A flatten ran: the halt now needs a person to lift it (RESUME_AFTER_FLATTEN=manual). */
  async markFlattened(): Promise<ExecutorHaltState> {
    if (!this.state.halted || this.state.flattened) return this.state;
    this.state = { ...this.state, flattened: true };
    this.log.warn({ halt: this.state, resumeAfterFlatten: this.afterFlatten }, 'positions flattened while halted');
    await this.store.setHalt(this.state);
    return this.state;
  }

  /** Resume, unless `resumeRefusal` says this request may not; then throws ResumeRefused and stays halted. */
  async resume(req: ResumeRequest): Promise<ExecutorHaltState> {
    const refusal = resumeRefusal(this.state, req, this.afterFlatten, this.watchdogHeardAt());
    if (refusal) {
      this.refusals.inc();
      this.log.warn({ halt: this.state, request: req, refusal }, 'resume refused; staying halted');
      throw new ResumeRefused(`still halted: ${refusal}`);
    }
    await this.store.setHalt(NOT_HALTED);
    if (this.state.halted) {
      this.changes.inc({ to: 'resumed' });
      this.log.warn({ previous: this.state, request: req }, 'executor resumed: orders allowed again');
    }
    this.state = NOT_HALTED;
    this.gauge();
    return this.state;
  }

  private gauge(): void {
    this.haltedGauge.set(this.state.halted ? 1 : 0);
  }
}
