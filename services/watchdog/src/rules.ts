import type { DataPath, GatewayState } from '@vigil/contracts';
import type { MarketPhase } from '@vigil/service-kit';
import type { FlattenPolicy, WatchdogConfig } from './config.js';
import { alert, iso, note, secs, type Action, type CommandName } from './drafts.js';
import { newRepairs, type AuditTotals } from './data-repaired.js';
import { emptyDecisionWatch, forgetOwed, onDecisions, onFreshBar, type DecisionWatch } from './decision-watch.js';
import { afterRestart, haltThenFlatten, holdsHalt, type Escalation } from './escalation.js';
import { evaluateDegraded, type DegradedConfig, type FeedDegraded, type FeedView } from './feed-degraded.js';
import { evaluateUnmanaged, type PositionsView, type Unmanaged, type UnmanagedConfig } from './position-unmanaged.js';

export type { Action, AlertDraft, CommandName } from './drafts.js';
export type { StepState } from './escalation.js';

/**
 * The watchdog's decisions as a pure state machine: `(state, event, now) => { state, actions }`.
 * No I/O and no clock of its own, so every rule is tested under fake time; `watchdog.ts` feeds it
 * events and carries out the actions.
 */

export interface RulesConfig extends DegradedConfig, UnmanagedConfig {
  /** After a flatten: `manual`, leave the halt for a person; `auto`, resume when the incidents resolve. */
  resumeAfterFlatten: 'manual' | 'auto';
  noBarAlertMs: number;
  heartbeatTimeoutMs: number;
  flattenAfterMs: number;
  flattenAfterFailures: number;
  flattenPolicy: FlattenPolicy;
  resumeAfterMs: number;
  flapMaxReconnects: number;
  flapWindowMs: number;
  /** Gateway bar buffer fill (0..1) at which `buffer_high` opens; it resolves below half of it. */
  bufferAlertFill: number;
}

export function rulesConfig(c: WatchdogConfig): RulesConfig {
  return {
    noBarAlertMs: c.NO_BAR_ALERT_MS,
    heartbeatTimeoutMs: c.HEARTBEAT_TIMEOUT_MS,
    flattenAfterMs: c.FLATTEN_AFTER_MS,
    flattenAfterFailures: c.FLATTEN_AFTER_FAILURES,
    flattenPolicy: c.FLATTEN_POLICY,
    resumeAfterMs: c.RESUME_AFTER_MS,
    flapMaxReconnects: c.FLAP_MAX_RECONNECTS,
    flapWindowMs: c.FLAP_WINDOW_MS,
    bufferAlertFill: c.BUFFER_ALERT_FILL,
    degradedAlertMs: c.DEGRADED_ALERT_MS,
    degradedCriticalMs: c.DEGRADED_CRITICAL_MS,
    degradedPolicy: c.DEGRADED_POLICY,
    unmanagedAlertMs: c.UNMANAGED_ALERT_MS,
    resumeAfterFlatten: c.RESUME_AFTER_FLATTEN,
  };
}

/** One stretch of stale data, from the last fresh bar until data has been fresh again for RESUME_AFTER_MS. */
export interface Incident extends Escalation {
  /** The last instant data was fresh: the staleness began here. */
  staleSince: number;
  openedAt: number;
  reconnectsSent: number;
  /** Reconnect commands that failed in a row; FLATTEN_AFTER_FAILURES of them escalate at once. */
  reconnectFailures: number;
  nextReconnectAt: number;
  /** When bars started arriving again, or null while still stale. */
  freshSince: number | null;
  /** Closed-market time inside the incident, which counts toward neither escalation nor its duration. */
  pausedMs: number;
  /** When the market closed with the incident open, until it opens again. */
  pausedAt: number | null;
}

export interface WatchState {
  phase: MarketPhase;
  /** Last bar, or when watching (re)started: the watchdog start or the market leaving `closed`. */
  lastFreshAt: number;
  lastHeartbeatAt: number;
  gateway: { instanceId: string; state: GatewayState; reconnects: number; audit: AuditTotals } | null;
  gatewayDown: { id: string; since: number } | null;
  /** Standby gateway replicas by replica id, and when each was last heard on `md.standby`. */
  standbys: Record<string, number>;
  /** Gateway conditions a person must fix or watch, open until the heartbeat says otherwise. */
  gatewayAlerts: Partial<Record<GatewayAlertKind, { id: string; since: number }>>;
  incident: Incident | null;
  /** True from the moment a halt is requested until a resume succeeds (a lost halt reply must not strand it). */
  executorHalted: boolean;
  /** The incident our first halt named; the resume names it too. */
  haltIncidentId: string | null;
  /** A flatten was sent while halted: with RESUME_AFTER_FLATTEN=manual the halt is left for a person. */
  flattenedWhileHalted: boolean;
  resumeRetryAt: number;
  inFlight: Record<CommandName, boolean>;
  /** Reconnects seen within the flap window (from heartbeats and from our own commands). */
  reconnectTimes: number[];
  /** Our successful reconnect commands not yet seen as a heartbeat counter increase, so none counts twice. */
  commandedReconnects: number[];
  reconnectsTotal: number;
  flapping: boolean;
  /** How the gateway last said data arrives; null before its first heartbeat. */
  feed: FeedView | null;
  degraded: FeedDegraded | null;
  /** The broker's positions as last read; null until the first read succeeds. */
  positions: PositionsView | null;
  decisions: DecisionWatch;
  unmanaged: Unmanaged | null;
}

export type WatchEvent =
  | { type: 'tick'; phase: MarketPhase }
  | { type: 'bar'; symbol: string; t: number }
  | {
      type: 'heartbeat';
      instanceId: string;
      state: GatewayState;
      reason: string;
      reconnects: number;
      bufferFill: number;
      /** The gateway audit's repair totals (since that gateway started). */
      audit: AuditTotals;
      dataPath: DataPath;
      /** How long the live stream has been down as the gateway measures it (its own clock), or null. */
      liveDownForMs: number | null;
    }
  /** A standby gateway replica said it is ready to take over (`md.standby`). */
  | { type: 'standby'; replicaId: string }
  | { type: 'strategy'; decidedBarT: Record<string, number> }
  | { type: 'positions'; bySymbol: Record<string, number> }
  | {
      type: 'command_result';
      command: CommandName;
      incidentId: string | null;
      ok: boolean;
      error?: string;
      /** A refused resume whose reply says the halt is now a person's to lift (set by one, or after a flatten). */
      haltIsPersons?: boolean;
    };

/** The gateway states no reconnect can fix (keys rejected, a setting Alpaca refuses), and a filling buffer. */
type GatewayAlertKind = 'auth_failed' | 'config_error' | 'buffer_high';

/** What the watchdog knows when it starts, besides what it stored. */
export interface StartFacts {
  /** The broker clock's first reading: a restart at night must not judge bars by market-hours rules. */
  phase: MarketPhase;
  /** When the newest bar was stored in the BARS stream (null: empty or unreadable), the evidence of what
   * happened to the data while the watchdog was not watching. */
  lastBarStoredAt: number | null;
  /** When the saved state was written, if there is one. */
  savedAt?: number | null;
}

/** What survives a restart of the watchdog (stored in KV by `incident-store.ts`). */
export interface PersistedState {
  lastFreshAt: number;
  incident: Incident | null;
  executorHalted: boolean;
  haltIncidentId: string | null;
  flattenedWhileHalted: boolean;
  degraded: FeedDegraded | null;
  unmanaged: Unmanaged | null;
}

const idle: Record<CommandName, boolean> = { reconnect: false, halt: false, flatten: false, resume: false };

export function initialState(
  now: number,
  saved: PersistedState | null = null,
  facts: StartFacts = { phase: 'unknown', lastBarStoredAt: null },
): WatchState {
  let incident = saved?.incident ?? null;
  const stored = facts.lastBarStoredAt;
  if (incident) {
    // Replies to commands in flight before the restart are lost: a halt is safe to send again (as a retry, so
    // it pages no second time), a flatten is not.
    incident = { ...afterRestart(incident, now), nextReconnectAt: now };
    // Bars stored while we were down: data may be flowing again; the next bars confirm it or stopping undoes it.
    if (incident.freshSince === null && stored !== null && stored > saved!.lastFreshAt) incident.freshSince = stored;
    // Down across a close: the closed time since we last wrote counts as paused, not as a night of staleness.
    if (facts.phase === 'closed' && incident.pausedAt === null)
      incident.pausedAt = Math.min(now, Math.max(incident.staleSince, facts.savedAt ?? now));
  }
  // Without an open incident the time the watchdog was down must not count as stale on its own word: the
  // stream says when the last bar really came. With no evidence at all, the wait starts now.
  const lastFreshAt = incident
    ? Math.max(saved!.lastFreshAt, stored ?? -Infinity)
    : stored !== null
      ? Math.max(stored, saved?.lastFreshAt ?? -Infinity)
      : now;
  return {
    phase: facts.phase,
    lastFreshAt,
    lastHeartbeatAt: now,
    gateway: null,
    gatewayDown: null,
    standbys: {},
    gatewayAlerts: {},
    incident,
    executorHalted: saved?.executorHalted ?? false,
    haltIncidentId: saved?.haltIncidentId ?? null,
    flattenedWhileHalted: saved?.flattenedWhileHalted ?? false,
    resumeRetryAt: now,
    inFlight: { ...idle },
    reconnectTimes: [],
    commandedReconnects: [],
    reconnectsTotal: 0,
    flapping: false,
    feed: null,
    degraded: saved?.degraded ? afterRestart(saved.degraded, now) : null,
    positions: null,
    decisions: emptyDecisionWatch(),
    unmanaged: saved?.unmanaged ? afterRestart(saved.unmanaged, now) : null,
  };
}

export function persisted(s: WatchState): PersistedState {
  return {
    lastFreshAt: s.lastFreshAt,
    incident: s.incident,
    executorHalted: s.executorHalted,
    haltIncidentId: s.haltIncidentId,
    flattenedWhileHalted: s.flattenedWhileHalted,
    degraded: s.degraded,
    unmanaged: s.unmanaged,
  };
}

export function step(
  cfg: RulesConfig,
  state: WatchState,
  event: WatchEvent,
  now: number,
): { state: WatchState; actions: Action[] } {
  const s = structuredClone(state);
  const actions: Action[] = [];
  switch (event.type) {
    case 'tick':
      if (s.phase === 'closed' && event.phase !== 'closed') {
        // Bars stop overnight by design: the wait for the first bar starts when the market opens, and an
        // incident carried over the close picks up where it stopped, not a night's staleness later.
        s.lastFreshAt = Math.max(s.lastFreshAt, now);
        if (s.incident?.pausedAt != null) {
          s.incident.pausedMs += now - s.incident.pausedAt;
          s.incident.pausedAt = null;
          s.incident.nextReconnectAt = now;
        }
      } else if (s.phase !== 'closed' && event.phase === 'closed') {
        if (s.incident) s.incident.pausedAt = now;
        forgetOwed(s.decisions);
      }
      s.phase = event.phase;
      break;
    case 'bar':
      s.lastFreshAt = now;
      if (s.phase !== 'closed') onFreshBar(s.decisions, event.symbol, event.t, now);
      if (s.incident && s.incident.freshSince === null) {
        s.incident.freshSince = now;
        actions.push(
          note('bars arriving again; resolving once they stay fresh', {
            incidentId: s.incident.id,
            resumeAfterMs: cfg.resumeAfterMs,
          }),
        );
      }
      break;
    case 'heartbeat':
      onHeartbeat(cfg, s, event, now, actions);
      break;
    case 'command_result':
      onCommandResult(cfg, s, event, now, actions);
      break;
    case 'strategy':
      onDecisions(s.decisions, event.decidedBarT, now);
      break;
    case 'standby':
      s.standbys[event.replicaId] = now;
      break;
    case 'positions':
      s.positions = { bySymbol: event.bySymbol, readAt: now };
      break;
  }
  evaluate(cfg, s, now, actions);
  return { state: s, actions };
}

function onHeartbeat(
  cfg: RulesConfig,
  s: WatchState,
  hb: Extract<WatchEvent, { type: 'heartbeat' }>,
  now: number,
  actions: Action[],
): void {
  s.lastHeartbeatAt = now;
  if (s.gatewayDown) {
    const durationMs = now - s.gatewayDown.since;
    actions.push(
      alert(
        'gateway_down',
        'info',
        'resolved',
        s.gatewayDown.id,
        `gateway heartbeats are back after ${secs(durationMs)}`,
        durationMs,
        { instanceId: hb.instanceId, state: hb.state },
      ),
    );
    s.gatewayDown = null;
  }
  const prev = s.gateway;
  let seen = 0;
  if (prev && prev.instanceId === hb.instanceId && hb.reconnects > prev.reconnects)
    seen = hb.reconnects - prev.reconnects;
  else if (prev && (prev.instanceId !== hb.instanceId || hb.reconnects < prev.reconnects)) {
    // A new gateway process connecting is a reconnect of the feed; its counter starts again.
    seen = 1;
    actions.push(
      note('gateway restarted; counting reconnects from its new counter', { from: prev.instanceId, to: hb.instanceId }),
    );
  }
  const repaired = newRepairs(prev, hb.instanceId, hb.audit);
  if (repaired)
    actions.push(
      alert(
        'data_repaired',
        'info',
        'info',
        s.incident?.id ?? null,
        `the gateway's audit stored ${repaired.missing} missing and ${repaired.revised} revised bar(s) that REST had: the live stream, backfill or polling missed them`,
        null,
        { ...repaired, instanceId: hb.instanceId },
      ),
    );
  s.gateway = { instanceId: hb.instanceId, state: hb.state, reconnects: hb.reconnects, audit: hb.audit };
  s.feed = { dataPath: hb.dataPath, liveDownSince: hb.liveDownForMs === null ? null : now - hb.liveDownForMs };
  const fillHigh = s.gatewayAlerts.buffer_high
    ? hb.bufferFill >= cfg.bufferAlertFill / 2
    : hb.bufferFill >= cfg.bufferAlertFill;
  const conditions: Record<GatewayAlertKind, { on: boolean; open: string; resolved: string }> = {
    auth_failed: {
      on: hb.state === 'auth_failed',
      open: `Alpaca rejects the gateway's keys: ${hb.reason}`,
      resolved: 'the gateway is past auth_failed',
    },
    config_error: {
      on: hb.state === 'config_error',
      open: `Alpaca refuses the gateway's configuration: ${hb.reason}`,
      resolved: 'the gateway is past config_error',
    },
    buffer_high: {
      on: fillHigh,
      open: `the gateway's bar buffer is ${Math.round(hb.bufferFill * 100)}% full: NATS is refusing bars; at 100% new bars are refused and refetched later`,
      resolved: `the gateway's bar buffer drained (${Math.round(hb.bufferFill * 100)}% full)`,
    },
  };
  for (const [kind, c] of Object.entries(conditions) as [GatewayAlertKind, (typeof conditions)[GatewayAlertKind]][]) {
    const open = s.gatewayAlerts[kind];
    if (c.on && !open) {
      s.gatewayAlerts[kind] = { id: `${kind}-${iso(now)}`, since: now };
      actions.push(
        alert(kind, kind === 'buffer_high' ? 'warning' : 'critical', 'open', s.gatewayAlerts[kind]!.id, c.open, null, {
          state: hb.state,
          reason: hb.reason,
          bufferFill: hb.bufferFill,
        }),
      );
    } else if (!c.on && open) {
      delete s.gatewayAlerts[kind];
      actions.push(
        alert(kind, 'info', 'resolved', open.id, `${c.resolved} after ${secs(now - open.since)}`, now - open.since, {
          state: hb.state,
        }),
      );
    }
  }
  s.commandedReconnects = s.commandedReconnects.filter((t) => now - t < cfg.flapWindowMs);
  for (let i = 0; i < seen; i++) {
    if (s.commandedReconnects.length > 0) s.commandedReconnects.shift();
    else recordReconnect(cfg, s, now, 'gateway', actions);
  }
}

function onCommandResult(
  cfg: RulesConfig,
  s: WatchState,
  r: Extract<WatchEvent, { type: 'command_result' }>,
  now: number,
  actions: Action[],
): void {
  s.inFlight[r.command] = false;
  const inc = s.incident && s.incident.id === r.incidentId ? s.incident : null;
  // Halt and flatten may belong to any incident that escalates: stale data, a degraded feed, unmanaged positions.
  const owner: Escalation | null =
    [s.incident, s.degraded, s.unmanaged].find((e) => e !== null && e.id === r.incidentId) ?? null;
  if (!r.ok) {
    actions.push(note(`${r.command} command failed`, { incidentId: r.incidentId, error: r.error }));
    if (owner && !owner.failedAlerted.includes(r.command)) {
      owner.failedAlerted.push(r.command);
      const severity = r.command === 'reconnect' ? 'warning' : 'critical';
      actions.push(
        alert(
          'command_failed',
          severity,
          'info',
          owner.id,
          `${r.command} command failed: ${r.error ?? 'unknown error'}`,
          null,
          { command: r.command },
        ),
      );
    }
  }
  switch (r.command) {
    case 'reconnect':
      if (r.ok) {
        s.commandedReconnects.push(now);
        recordReconnect(cfg, s, now, 'watchdog', actions);
      }
      if (!inc) return;
      inc.reconnectFailures = r.ok ? 0 : inc.reconnectFailures + 1;
      // The command layer has already backed off between attempts; once escalated, stop hammering.
      inc.nextReconnectAt = r.ok || inc.reconnectFailures >= cfg.flattenAfterFailures ? now + cfg.noBarAlertMs : now;
      return;
    case 'halt':
      if (owner) {
        owner.halt = r.ok ? 'done' : 'failed';
        owner.haltRetryAt = now + cfg.noBarAlertMs;
      }
      return;
    case 'flatten':
      if (owner) owner.flatten = r.ok ? 'done' : 'failed';
      return;
    case 'resume':
      if (r.ok) releaseHalt(s);
      else if (r.haltIsPersons) {
        // Not ours to lift any more: say so once and stop asking.
        actions.push(
          alert(
            'command_failed',
            'critical',
            'info',
            r.incidentId,
            `the executor stays halted until a person resumes it: ${r.error ?? 'refused'}`,
            null,
            { command: 'resume' },
          ),
        );
        releaseHalt(s);
      } else {
        s.resumeRetryAt = now + cfg.noBarAlertMs;
        actions.push(
          alert(
            'command_failed',
            'critical',
            'info',
            r.incidentId,
            `resume command failed, executor still halted: ${r.error ?? 'unknown error'}`,
            null,
            { command: 'resume' },
          ),
        );
      }
  }
}

function evaluate(cfg: RulesConfig, s: WatchState, now: number, actions: Action[]): void {
  const watching = s.phase !== 'closed';
  if (watching && !s.gatewayDown && now - s.lastHeartbeatAt >= cfg.heartbeatTimeoutMs) {
    s.gatewayDown = { id: `gateway-${iso(now)}`, since: s.lastHeartbeatAt };
    const ready = readyStandbys(cfg, s, now);
    actions.push(
      alert(
        'gateway_down',
        'critical',
        'open',
        s.gatewayDown.id,
        `no gateway heartbeat for ${secs(now - s.lastHeartbeatAt)}; ${
          ready.length
            ? `standby ${ready.join(', ')} is up but has not taken the lease: check its log and the gateway_leader KV bucket`
            : 'no standby gateway is running'
        }`,
        null,
        { lastHeartbeatAt: iso(s.lastHeartbeatAt), phase: s.phase, standbys: ready },
      ),
    );
  }
  const staleMs = now - s.lastFreshAt;
  if (watching && s.incident?.freshSince != null && staleMs >= cfg.noBarAlertMs) {
    s.incident.freshSince = null;
    actions.push(note('bars stopped again before the incident resolved', { incidentId: s.incident.id }));
  }
  if (!s.incident && watching && staleMs >= cfg.noBarAlertMs) openIncident(s, now, staleMs, actions);
  const inc = s.incident;
  if (inc && inc.freshSince !== null && now - inc.freshSince >= cfg.resumeAfterMs) {
    const durationMs = staleMarketMs(inc, inc.freshSince);
    actions.push(
      alert(
        'resumed',
        'info',
        'resolved',
        inc.id,
        `data fresh again; it was stale for ${secs(durationMs)}`,
        durationMs,
        { reconnectsSent: inc.reconnectsSent, halted: inc.halt === 'done', flattened: inc.flatten === 'done' },
      ),
    );
    s.incident = null;
  } else if (inc && watching && inc.freshSince === null) {
    escalate(cfg, s, inc, now, actions);
  }
  actions.push(...evaluateDegraded(cfg, s, now), ...evaluateUnmanaged(cfg, s, now));
  // An open stale-data incident holds the executor whether or not it halted yet; the others only once they did.
  const holding = s.incident !== null || holdsHalt(s.degraded) || holdsHalt(s.unmanaged);
  if (!holding && s.executorHalted && !s.inFlight.halt && !s.inFlight.resume && now >= s.resumeRetryAt) {
    if (s.flattenedWhileHalted && cfg.resumeAfterFlatten === 'manual') {
      actions.push(
        alert(
          'command_failed',
          'critical',
          'info',
          s.haltIncidentId,
          'every incident resolved, but positions were flattened: the executor stays halted until a person resumes it (RESUME_AFTER_FLATTEN=manual)',
          null,
          { command: 'resume' },
        ),
      );
      releaseHalt(s);
    } else {
      s.inFlight.resume = true;
      actions.push({
        type: 'command',
        command: 'resume',
        incidentId: s.haltIncidentId,
        reason: 'every incident that halted trading has resolved',
      });
    }
  }
  s.reconnectTimes = s.reconnectTimes.filter((t) => now - t < cfg.flapWindowMs);
  if (s.flapping && s.reconnectTimes.length <= cfg.flapMaxReconnects) {
    s.flapping = false;
    actions.push(note('reconnects back under the flap threshold', { reconnects: s.reconnectTimes.length }));
  }
}

function openIncident(s: WatchState, now: number, staleMs: number, actions: Action[]): void {
  s.incident = {
    id: `stale-${iso(now)}`,
    staleSince: s.lastFreshAt,
    openedAt: now,
    reconnectsSent: 0,
    reconnectFailures: 0,
    nextReconnectAt: now,
    halt: 'none',
    haltRetryAt: now,
    flatten: 'none',
    freshSince: null,
    pausedMs: 0,
    pausedAt: null,
    failedAlerted: [],
  };
  actions.push(
    alert(
      'no_bar',
      'critical',
      'open',
      s.incident.id,
      `no bar for ${secs(staleMs)} while the market is ${s.phase}`,
      null,
      { lastFreshAt: iso(s.lastFreshAt), phase: s.phase },
    ),
  );
}

/** Reconnect, then halt, then (policy permitting, market surely open) flatten once. */
function escalate(cfg: RulesConfig, s: WatchState, inc: Incident, now: number, actions: Action[]): void {
  if (!s.inFlight.reconnect && now >= inc.nextReconnectAt) {
    s.inFlight.reconnect = true;
    inc.reconnectsSent += 1;
    actions.push({
      type: 'command',
      command: 'reconnect',
      incidentId: inc.id,
      reason: `no bar for ${secs(now - inc.staleSince)}`,
    });
  }
  if (cfg.flattenPolicy === 'off') return;
  const staleFor = staleMarketMs(inc, now);
  const why =
    staleFor >= cfg.flattenAfterMs
      ? `stale for ${secs(staleFor)}`
      : `${inc.reconnectFailures} reconnect commands failed in a row`;
  actions.push(
    ...haltThenFlatten(s, inc, now, {
      due: staleFor >= cfg.flattenAfterMs || inc.reconnectFailures >= cfg.flattenAfterFailures,
      flatten: cfg.flattenPolicy === 'flatten',
      why: `market data ${why}`,
      opened: alert('stale_halt', 'critical', 'open', inc.id, `halting new orders: ${why}`, null, {
        staleMs: staleFor,
        reconnectFailures: inc.reconnectFailures,
      }),
    }),
  );
}

/** The standby replicas heard within the heartbeat timeout: up, ready to take the lease. */
export function readyStandbys(
  cfg: Pick<RulesConfig, 'heartbeatTimeoutMs'>,
  s: Pick<WatchState, 'standbys'>,
  now: number,
): string[] {
  return Object.entries(s.standbys)
    .filter(([, at]) => now - at < cfg.heartbeatTimeoutMs)
    .map(([id]) => id)
    .sort();
}

/** The watchdog no longer holds the executor halted (resumed, or left for a person). */
function releaseHalt(s: WatchState): void {
  s.executorHalted = false;
  s.haltIncidentId = null;
  s.flattenedWhileHalted = false;
}

/** How long the incident's data has been stale by `t`, leaving out the time the market was closed. */
export function staleMarketMs(inc: Pick<Incident, 'staleSince' | 'pausedMs' | 'pausedAt'>, t: number): number {
  const pausing = inc.pausedAt !== null && t > inc.pausedAt ? t - inc.pausedAt : 0;
  return Math.max(0, t - inc.staleSince - inc.pausedMs - pausing);
}

function recordReconnect(
  cfg: RulesConfig,
  s: WatchState,
  now: number,
  source: 'gateway' | 'watchdog',
  actions: Action[],
): void {
  s.reconnectTimes = [...s.reconnectTimes.filter((t) => now - t < cfg.flapWindowMs), now];
  s.reconnectsTotal += 1;
  const recent = s.reconnectTimes.length;
  actions.push(
    alert('reconnect', 'info', 'info', s.incident?.id ?? null, `gateway reconnected (requested by ${source})`, null, {
      source,
      inWindow: recent,
    }),
  );
  if (!s.flapping && recent > cfg.flapMaxReconnects) {
    s.flapping = true;
    actions.push(
      alert(
        'flap',
        'warning',
        'info',
        s.incident?.id ?? null,
        `${recent} reconnects in ${secs(cfg.flapWindowMs)}: the feed is flapping`,
        null,
        { reconnects: recent, windowMs: cfg.flapWindowMs },
      ),
    );
  }
}
