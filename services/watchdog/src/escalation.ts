import { alert, type Action, type CommandName } from './drafts.js';

/** A once-per-incident executor step. */
export type StepState = 'none' | 'pending' | 'done' | 'failed';

/** What an incident that may halt (and flatten) the executor remembers of those steps. */
export interface Escalation {
  id: string;
  halt: StepState;
  haltRetryAt: number;
  flatten: StepState;
  /** Commands already alerted as failed, so each failure kind pages once per incident. */
  failedAlerted: CommandName[];
}

export const noEscalation = (id: string, now: number): Escalation => ({
  id,
  halt: 'none',
  haltRetryAt: now,
  flatten: 'none',
  failedAlerted: [],
});

/** A halt sent and not yet answered when the watchdog restarted is safe to send again; a flatten is not. */
export function afterRestart<E extends Escalation>(e: E, now: number): E {
  return {
    ...e,
    halt: e.halt === 'pending' ? 'failed' : e.halt,
    haltRetryAt: e.halt === 'pending' ? now : e.haltRetryAt,
    flatten: e.flatten === 'pending' ? 'done' : e.flatten,
  };
}

/** True while this incident has asked for a halt: the executor must not be resumed until it resolves. */
export const holdsHalt = (e: Escalation | null): boolean => e !== null && e.halt !== 'none';

/** The slice of the watchdog's state a halt or flatten request touches. */
export interface ExecutorControl {
  phase: 'open' | 'closed' | 'unknown';
  executorHalted: boolean;
  /** The incident our first halt named: the executor keeps it, and a resume must name it. */
  haltIncidentId: string | null;
  /** A flatten was sent while halted: with RESUME_AFTER_FLATTEN=manual only a person lifts the halt. */
  flattenedWhileHalted: boolean;
  inFlight: Record<CommandName, boolean>;
}

/**
 * Halt once `due` (or again after a failed halt's retry time), then flatten once when asked to and the market
 * is surely open: never on `unknown`, a broken broker clock must not close positions. Returns what to send;
 * `opened` is the page the first halt request goes out with.
 */
export function haltThenFlatten(
  ctl: ExecutorControl,
  e: Escalation,
  now: number,
  opts: { due: boolean; flatten: boolean; why: string; opened: Action },
): Action[] {
  const actions: Action[] = [];
  const haltDue = e.halt === 'none' || (e.halt === 'failed' && now >= e.haltRetryAt);
  if (opts.due && haltDue && !ctl.inFlight.resume) {
    if (e.halt === 'none') actions.push(opts.opened);
    e.halt = 'pending';
    ctl.inFlight.halt = true;
    if (!ctl.executorHalted) ctl.haltIncidentId = e.id;
    ctl.executorHalted = true;
    actions.push({ type: 'command', command: 'halt', incidentId: e.id, reason: opts.why });
  }
  if (opts.flatten && e.halt === 'done' && e.flatten === 'none' && ctl.phase === 'open') {
    e.flatten = 'pending';
    ctl.inFlight.flatten = true;
    ctl.flattenedWhileHalted = true;
    actions.push(
      alert(
        'flatten',
        'critical',
        'open',
        e.id,
        `flattening positions (Vigil's symbols, or the account with FLATTEN_SCOPE=account): ${opts.why}`,
        null,
        {},
      ),
    );
    actions.push({ type: 'command', command: 'flatten', incidentId: e.id, reason: opts.why });
  }
  return actions;
}
