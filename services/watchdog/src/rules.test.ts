import type { GatewayState } from '@vigil/contracts';
import type { MarketPhase } from '@vigil/service-kit';
import { describe, expect, it } from 'vitest';
import {
  initialState,
  persisted,
  staleMarketMs,
  step,
  type Action,
  type CommandName,
  type RulesConfig,
  type WatchEvent,
  type WatchState,
} from './rules.js';

const cfg: RulesConfig = {
  noBarAlertMs: 120_000,
  heartbeatTimeoutMs: 15_000,
  flattenAfterMs: 300_000,
  flattenAfterFailures: 3,
  flattenPolicy: 'flatten',
  resumeAfterMs: 60_000,
  flapMaxReconnects: 3,
  flapWindowMs: 600_000,
  bufferAlertFill: 0.5,
  degradedAlertMs: 120_000,
  degradedCriticalMs: 600_000,
  degradedPolicy: 'alert',
  unmanagedAlertMs: 180_000,
  resumeAfterFlatten: 'manual',
};

type Reply = { ok: boolean; error?: string; haltIsPersons?: boolean } | 'hang';

/**
 * Drives the pure rules under fake time: a tick every second, a gateway that may send heartbeats and bars,
 * and responders that answer commands one second after they are sent.
 */
class Sim {
  state: WatchState;
  now = 0;
  actions: { at: number; action: Action }[] = [];
  phase: MarketPhase = 'open';
  heartbeats = true;
  bars = true;
  gatewayReconnects = 0;
  gatewayState: GatewayState = 'streaming';
  bufferFill = 0;
  /** The gateway audit's repair totals its heartbeat reports. */
  audit = { missing: 0, revised: 0 };
  /** When the live stream went down (fake time), or null while it streams. */
  liveDownAt: number | null = null;
  /** Broker positions, read every 15 s once set. */
  positions: Record<string, number> | null = null;
  /** A strategy heartbeat every 5 s while alive; it reports deciding on each bar while `deciding`. */
  strategyAlive = true;
  deciding = true;
  private lastBarT: number | null = null;
  replies: Partial<Record<CommandName, Reply>> = {};
  private pending: { at: number; event: WatchEvent }[] = [];

  constructor(
    readonly c: RulesConfig = cfg,
    state?: WatchState,
  ) {
    this.state = state ?? initialState(0);
  }

  send(event: WatchEvent): void {
    const r = step(this.c, this.state, event, this.now);
    this.state = r.state;
    for (const action of r.actions) {
      this.actions.push({ at: this.now, action });
      if (action.type !== 'command') continue;
      const reply = this.replies[action.command] ?? { ok: true };
      if (reply === 'hang') continue;
      this.pending.push({
        at: this.now + 1000,
        event: { type: 'command_result', command: action.command, incidentId: action.incidentId, ...reply },
      });
    }
  }

  /** Advance to `until` ms in 1 s steps. Bars every 60 s and heartbeats every 5 s while switched on. */
  runUntil(until: number): void {
    while (this.now < until) {
      this.now += 1000;
      for (const p of this.pending.filter((x) => x.at <= this.now)) {
        this.pending.splice(this.pending.indexOf(p), 1);
        this.send(p.event);
      }
      if (this.heartbeats && this.now % 5000 === 0)
        this.send({
          type: 'heartbeat',
          instanceId: 'gw-1',
          state: this.gatewayState,
          reason: 'test',
          reconnects: this.gatewayReconnects,
          bufferFill: this.bufferFill,
          audit: { ...this.audit },
          ...this.feed(),
        });
      if (this.bars && this.now % 60_000 === 0) {
        this.send({ type: 'bar', symbol: 'SPY', t: this.now - 60_000 });
        if (this.deciding) this.lastBarT = this.now - 60_000;
      }
      if (this.strategyAlive && this.now % 5000 === 0)
        this.send({ type: 'strategy', decidedBarT: this.lastBarT === null ? {} : { SPY: this.lastBarT } });
      if (this.positions && this.now % 15_000 === 0) this.send({ type: 'positions', bySymbol: this.positions });
      this.send({ type: 'tick', phase: this.phase });
    }
  }

  feed(): { dataPath: 'live' | 'polling'; liveDownForMs: number | null } {
    return this.liveDownAt === null
      ? { dataPath: 'live', liveDownForMs: null }
      : { dataPath: 'polling', liveDownForMs: this.now - this.liveDownAt };
  }

  alerts(kind?: string) {
    return this.actions.flatMap(({ at, action }) =>
      action.type === 'alert' && (!kind || action.alert.kind === kind) ? [{ at, ...action.alert }] : [],
    );
  }

  commands(command?: CommandName) {
    return this.actions.flatMap(({ at, action }) =>
      action.type === 'command' && (!command || action.command === command) ? [{ at, ...action }] : [],
    );
  }
}

describe('rules: stale bars', () => {
  it('stays quiet while bars arrive every minute', () => {
    const sim = new Sim();
    sim.runUntil(30 * 60_000);
    expect(sim.alerts()).toEqual([]);
    expect(sim.commands()).toEqual([]);
  });

  it('alerts no_bar (critical) and asks the gateway to reconnect after NO_BAR_ALERT_MS without a bar', () => {
    const sim = new Sim();
    sim.runUntil(60_000);
    sim.bars = false;
    sim.runUntil(179_000);
    expect(sim.alerts()).toEqual([]);
    sim.runUntil(180_000);
    expect(sim.alerts('no_bar')).toEqual([
      expect.objectContaining({ at: 180_000, severity: 'critical', status: 'open' }),
    ]);
    expect(sim.commands('reconnect')).toEqual([
      expect.objectContaining({ at: 180_000, incidentId: sim.state.incident!.id }),
    ]);
    // A successful reconnect is counted and announced, and the next one waits another NO_BAR_ALERT_MS.
    sim.runUntil(299_000);
    expect(sim.alerts('reconnect')).toHaveLength(1);
    expect(sim.commands('reconnect')).toHaveLength(1);
    sim.runUntil(301_000);
    expect(sim.commands('reconnect')).toHaveLength(2);
  });

  it('halts at FLATTEN_AFTER_MS, then flattens exactly once with policy flatten', () => {
    const sim = new Sim();
    sim.runUntil(60_000);
    sim.bars = false;
    sim.runUntil(359_000);
    expect(sim.commands('halt')).toEqual([]);
    sim.runUntil(360_000);
    expect(sim.commands('halt')).toEqual([expect.objectContaining({ at: 360_000 })]);
    expect(sim.alerts('stale_halt')).toEqual([expect.objectContaining({ severity: 'critical' })]);
    sim.runUntil(3_600_000);
    expect(sim.commands('halt')).toHaveLength(1);
    expect(sim.commands('flatten')).toEqual([expect.objectContaining({ at: 361_000 })]);
    expect(sim.alerts('flatten')).toHaveLength(1);
    expect(sim.alerts('no_bar')).toHaveLength(1);
    const order = sim.actions
      .filter((a) => a.action.type !== 'note')
      .map(({ action }) =>
        action.type === 'alert'
          ? `alert:${action.alert.kind}`
          : action.type === 'command'
            ? `cmd:${action.command}`
            : '',
      );
    expect(order.slice(0, 2)).toEqual(['alert:no_bar', 'cmd:reconnect']);
    expect(order.indexOf('cmd:halt')).toBeLessThan(order.indexOf('cmd:flatten'));
  });

  it('halts after FLATTEN_AFTER_FAILURES failed reconnects, long before FLATTEN_AFTER_MS, and alerts the failure once', () => {
    const sim = new Sim();
    sim.replies.reconnect = { ok: false, error: 'no responders' };
    sim.runUntil(60_000);
    sim.bars = false;
    sim.runUntil(200_000);
    expect(sim.commands('reconnect')).toHaveLength(3);
    expect(sim.commands('halt')).toEqual([expect.objectContaining({ at: 183_000 })]);
    expect(sim.alerts('command_failed')).toEqual([
      expect.objectContaining({ severity: 'warning', details: { command: 'reconnect' } }),
    ]);
    // Once escalated the reconnects are spaced out, not hammered.
    sim.runUntil(302_000);
    expect(sim.commands('reconnect')).toHaveLength(3);
    sim.runUntil(304_000);
    expect(sim.commands('reconnect')).toHaveLength(4);
  });

  it('halts but never flattens with policy halt, and does neither with policy off', () => {
    for (const policy of ['halt', 'off'] as const) {
      const sim = new Sim({ ...cfg, flattenPolicy: policy });
      sim.bars = false;
      sim.runUntil(3_600_000);
      expect(sim.commands('halt')).toHaveLength(policy === 'halt' ? 1 : 0);
      expect(sim.commands('flatten')).toEqual([]);
      expect(sim.alerts('no_bar')).toHaveLength(1);
    }
  });

  it('retries a failed halt later, alerts its failure once, and never flattens without a halt', () => {
    const sim = new Sim();
    sim.replies.halt = { ok: false, error: 'no responders' };
    sim.bars = false;
    sim.runUntil(300_000 + 125_000);
    expect(sim.commands('halt')).toHaveLength(2);
    expect(sim.alerts('stale_halt')).toHaveLength(1);
    expect(sim.alerts('command_failed')).toEqual([
      expect.objectContaining({ severity: 'critical', details: { command: 'halt' } }),
    ]);
    expect(sim.commands('flatten')).toEqual([]);
  });

  it('does not flatten again when the flatten command fails', () => {
    const sim = new Sim();
    sim.replies.flatten = { ok: false, error: 'executor not answering' };
    sim.bars = false;
    sim.runUntil(3_600_000);
    expect(sim.commands('flatten')).toHaveLength(1);
    expect(sim.alerts('command_failed').map((a) => a.details.command)).toEqual(['flatten']);
  });
});

describe('rules: market phase from the broker clock', () => {
  it('fires nothing while the market is closed, and starts waiting for bars when it opens', () => {
    const sim = new Sim();
    sim.phase = 'closed';
    sim.bars = false;
    sim.heartbeats = false;
    sim.runUntil(8 * 3_600_000);
    expect(sim.alerts()).toEqual([]);
    expect(sim.commands()).toEqual([]);
    sim.phase = 'open';
    sim.heartbeats = true;
    sim.runUntil(8 * 3_600_000 + 119_000);
    expect(sim.alerts('no_bar')).toEqual([]);
    sim.runUntil(8 * 3_600_000 + 121_000);
    expect(sim.alerts('no_bar')).toHaveLength(1);
  });

  it('alerts and halts while the phase is unknown (broken clock), but never flattens', () => {
    const sim = new Sim();
    sim.phase = 'unknown';
    sim.bars = false;
    sim.runUntil(3_600_000);
    expect(sim.alerts('no_bar')).toHaveLength(1);
    expect(sim.commands('halt')).toHaveLength(1);
    expect(sim.commands('flatten')).toEqual([]);
    // The clock comes back and says open: now the flatten may go, once.
    sim.phase = 'open';
    sim.runUntil(3_700_000);
    expect(sim.commands('flatten')).toHaveLength(1);
  });

  it('stops escalating when the market closes during an incident', () => {
    const sim = new Sim();
    sim.bars = false;
    sim.runUntil(200_000);
    sim.phase = 'closed';
    sim.runUntil(3_600_000);
    expect(sim.commands('halt')).toEqual([]);
    expect(sim.commands('reconnect')).toHaveLength(1);
  });
});

describe('rules: recovery', () => {
  it('resolves after data is fresh for RESUME_AFTER_MS: resume command naming the incident and a resolved alert with the stale duration', () => {
    const sim = new Sim({ ...cfg, resumeAfterFlatten: 'auto' });
    sim.runUntil(60_000);
    sim.bars = false;
    sim.runUntil(400_000);
    expect(sim.commands('halt')).toHaveLength(1);
    sim.bars = true; // next bar at 420 s
    sim.runUntil(479_000);
    expect(sim.alerts('resumed')).toEqual([]);
    sim.runUntil(480_000);
    expect(sim.alerts('resumed')).toEqual([
      expect.objectContaining({
        at: 480_000,
        status: 'resolved',
        severity: 'info',
        durationMs: 420_000 - 60_000,
        incidentId: expect.stringMatching(/^stale-/),
      }),
    ]);
    expect(sim.commands('resume')).toEqual([
      expect.objectContaining({ at: 480_000, incidentId: sim.commands('halt')[0]!.incidentId }),
    ]);
    expect(sim.state.incident).toBeNull();
    sim.runUntil(600_000);
    expect(sim.state.executorHalted).toBe(false);
    expect(sim.commands('resume')).toHaveLength(1);
  });

  it('after a flatten leaves the halt for a person (RESUME_AFTER_FLATTEN=manual): no resume, one critical page', () => {
    const sim = new Sim();
    sim.runUntil(60_000);
    sim.bars = false;
    sim.runUntil(400_000);
    expect(sim.commands('flatten')).toHaveLength(1);
    sim.bars = true;
    sim.runUntil(700_000);
    expect(sim.alerts('resumed')).toHaveLength(1);
    expect(sim.commands('resume')).toEqual([]);
    expect(sim.alerts('command_failed')).toEqual([
      expect.objectContaining({
        severity: 'critical',
        message: expect.stringMatching(/stays halted until a person resumes it/),
      }),
    ]);
    expect(sim.state.executorHalted).toBe(false); // no longer the watchdog's to lift
  });

  it("stops asking when the executor says the halt is now a person's", () => {
    const sim = new Sim({ ...cfg, flattenPolicy: 'halt' });
    sim.replies.resume = {
      ok: false,
      error: 'still halted: halted by a person: only a person can resume',
      haltIsPersons: true,
    };
    sim.runUntil(60_000);
    sim.bars = false;
    sim.runUntil(400_000);
    sim.bars = true;
    sim.runUntil(900_000);
    expect(sim.commands('resume')).toHaveLength(1);
    expect(sim.alerts('command_failed')).toEqual([
      expect.objectContaining({
        severity: 'critical',
        message: expect.stringMatching(/stays halted until a person resumes it: still halted: halted by a person/),
      }),
    ]);
  });

  it('does not send resume when nothing was halted', () => {
    const sim = new Sim();
    sim.bars = false;
    sim.runUntil(150_000);
    sim.bars = true;
    sim.runUntil(400_000);
    expect(sim.alerts('resumed')).toHaveLength(1);
    expect(sim.commands('resume')).toEqual([]);
  });

  it('keeps the incident open when bars stop again before it resolves', () => {
    const sim = new Sim({ ...cfg, resumeAfterMs: 300_000 });
    sim.bars = false;
    sim.runUntil(150_000);
    sim.send({ type: 'bar', symbol: 'SPY', t: sim.now - 60_000 });
    sim.runUntil(290_000);
    expect(sim.state.incident?.freshSince).toBeNull();
    expect(sim.alerts('resumed')).toEqual([]);
    expect(sim.alerts('no_bar')).toHaveLength(1);
  });

  it('sends resume once a halt answered after the incident resolved', () => {
    const sim = new Sim({ ...cfg, flattenPolicy: 'halt', flattenAfterMs: 130_000, resumeAfterMs: 0 });
    sim.bars = false;
    sim.replies.halt = 'hang';
    sim.runUntil(135_000);
    expect(sim.commands('halt')).toHaveLength(1);
    sim.send({ type: 'bar', symbol: 'SPY', t: sim.now - 60_000 });
    expect(sim.state.incident).toBeNull();
    expect(sim.commands('resume')).toEqual([]);
    sim.send({ type: 'command_result', command: 'halt', incidentId: sim.commands('halt')[0]!.incidentId, ok: true });
    expect(sim.commands('resume')).toHaveLength(1);
  });

  it('recovers an open incident after a watchdog restart: re-sends a halt in flight, never a flatten in flight', () => {
    const sim = new Sim();
    sim.bars = false;
    sim.replies.flatten = 'hang';
    sim.runUntil(365_000);
    expect(sim.commands('flatten')).toHaveLength(1);
    const saved = JSON.parse(JSON.stringify(persisted(sim.state))) as ReturnType<typeof persisted>;
    const restarted = new Sim({ ...cfg, resumeAfterFlatten: 'auto' }, initialState(sim.now, saved));
    restarted.now = sim.now;
    restarted.bars = false;
    restarted.runUntil(2 * 3_600_000);
    expect(restarted.alerts('no_bar')).toEqual([]);
    expect(restarted.commands('flatten')).toEqual([]);
    expect(restarted.state.incident?.id).toBe(sim.state.incident!.id);
    restarted.bars = true;
    restarted.runUntil(2 * 3_600_000 + 120_000);
    expect(restarted.alerts('resumed')).toEqual([expect.objectContaining({ incidentId: sim.state.incident!.id })]);
    expect(restarted.commands('resume')).toHaveLength(1);
  });
});

describe('rules: gateway heartbeat and reconnects', () => {
  it('alerts gateway_down after HEARTBEAT_TIMEOUT_MS and resolves it with the outage duration', () => {
    const sim = new Sim();
    sim.runUntil(10_000);
    sim.heartbeats = false;
    sim.runUntil(24_000);
    expect(sim.alerts('gateway_down')).toEqual([]);
    sim.runUntil(25_000);
    expect(sim.alerts('gateway_down')).toEqual([expect.objectContaining({ status: 'open', severity: 'critical' })]);
    sim.runUntil(60_000);
    sim.heartbeats = true;
    sim.runUntil(65_000);
    expect(sim.alerts('gateway_down')).toEqual([
      expect.objectContaining({ status: 'open' }),
      expect.objectContaining({ status: 'resolved', durationMs: 55_000, at: 65_000 }),
    ]);
  });

  it('says in gateway_down whether a standby replica is up (seen within the timeout) or none is', () => {
    const alone = new Sim();
    alone.heartbeats = false;
    alone.runUntil(30_000);
    expect(alone.alerts('gateway_down')[0]).toMatchObject({ details: { standbys: [] } });
    expect(alone.alerts('gateway_down')[0]!.message).toMatch(/no standby gateway is running/);

    const paired = new Sim();
    paired.heartbeats = false;
    paired.send({ type: 'standby', replicaId: 'gw-stale' });
    paired.now = 20_000;
    paired.send({ type: 'standby', replicaId: 'gw-b' });
    paired.runUntil(30_000);
    expect(paired.alerts('gateway_down')[0]).toMatchObject({ details: { standbys: ['gw-b'] } });
    expect(paired.alerts('gateway_down')[0]!.message).toMatch(/standby gw-b is up but has not taken the lease/);
  });

  it('announces every reconnect and alerts flap once for more than 3 reconnects in 10 minutes', () => {
    const sim = new Sim();
    sim.runUntil(10_000);
    for (let i = 1; i <= 5; i++) {
      sim.gatewayReconnects = i;
      sim.runUntil(10_000 + i * 60_000);
    }
    expect(sim.alerts('reconnect')).toHaveLength(5);
    expect(sim.alerts('flap')).toEqual([expect.objectContaining({ at: 195_000, severity: 'warning' })]);
    // Quiet for the window: the flap clears and can alert again.
    sim.runUntil(900_000);
    expect(sim.state.flapping).toBe(false);
  });

  it('counts a reconnect it commanded once, not again when the heartbeat counter rises', () => {
    const sim = new Sim();
    sim.bars = false;
    sim.runUntil(121_000);
    expect(sim.commands('reconnect')).toHaveLength(1);
    sim.runUntil(122_000);
    sim.gatewayReconnects = 1;
    sim.runUntil(130_000);
    expect(sim.alerts('reconnect')).toEqual([
      expect.objectContaining({ details: { source: 'watchdog', inWindow: 1 } }),
    ]);
    expect(sim.state.reconnectsTotal).toBe(1);
  });

  it('treats a new gateway instance as one reconnect and re-bases its counter', () => {
    const sim = new Sim();
    sim.gatewayReconnects = 7;
    sim.runUntil(10_000);
    sim.send({
      type: 'heartbeat',
      instanceId: 'gw-2',
      state: 'streaming',
      reason: 'test',
      reconnects: 0,
      bufferFill: 0,
      audit: { missing: 0, revised: 0 },
      dataPath: 'live',
      liveDownForMs: null,
    });
    expect(sim.alerts('reconnect')).toHaveLength(1);
    expect(sim.state.gateway).toEqual({
      instanceId: 'gw-2',
      state: 'streaming',
      reconnects: 0,
      audit: { missing: 0, revised: 0 },
    });
  });
});

describe('rules: watchdog restarts and market closes', () => {
  const HOUR = 3_600_000;

  it('a restart mid-session judges staleness by when BARS last stored a bar, not by its own downtime', () => {
    const saved = {
      lastFreshAt: 0,
      incident: null,
      executorHalted: false,
      haltIncidentId: null,
      flattenedWhileHalted: false,
      degraded: null,
      unmanaged: null,
    };
    // Down for an hour while bars kept coming: no page, no halt.
    const healthy = new Sim(cfg, initialState(HOUR, saved, { phase: 'open', lastBarStoredAt: HOUR - 20_000 }));
    healthy.now = HOUR;
    healthy.runUntil(HOUR + 30 * 60_000);
    expect(healthy.alerts()).toEqual([]);
    expect(healthy.commands()).toEqual([]);
    // Down for an hour while the data was dead: it pages at once, and halts too, it has been stale long enough.
    const dead = new Sim(cfg, initialState(HOUR, saved, { phase: 'open', lastBarStoredAt: 0 }));
    dead.now = HOUR;
    dead.bars = false;
    dead.runUntil(HOUR + 1_000);
    expect(dead.alerts('no_bar')).toEqual([expect.objectContaining({ at: HOUR + 1_000 })]);
    expect(dead.commands('halt')).toHaveLength(1);
    // No evidence at all (stream unreadable): the wait starts at the restart.
    const blind = new Sim(cfg, initialState(HOUR, saved, { phase: 'open', lastBarStoredAt: null }));
    blind.now = HOUR;
    blind.bars = false;
    blind.runUntil(HOUR + 119_000);
    expect(blind.alerts()).toEqual([]);
    blind.runUntil(HOUR + 121_000);
    expect(blind.alerts('no_bar')).toHaveLength(1);
  });

  it('a restart at night takes the phase from the broker clock first: a heartbeat at once opens nothing', () => {
    const saved = {
      lastFreshAt: 0,
      incident: null,
      executorHalted: false,
      haltIncidentId: null,
      flattenedWhileHalted: false,
      degraded: null,
      unmanaged: null,
    };
    const sim = new Sim(cfg, initialState(10 * HOUR, saved, { phase: 'closed', lastBarStoredAt: 0 }));
    sim.now = 10 * HOUR;
    sim.phase = 'closed';
    sim.bars = false;
    sim.send({
      type: 'heartbeat',
      instanceId: 'gw-1',
      state: 'streaming',
      reason: 'test',
      reconnects: 0,
      bufferFill: 0,
      audit: { missing: 0, revised: 0 },
      dataPath: 'live',
      liveDownForMs: null,
    });
    sim.runUntil(11 * HOUR);
    expect(sim.alerts()).toEqual([]);
    expect(sim.commands()).toEqual([]);
  });

  it('an incident open at the close carries on at the next open where it stopped, not a night later', () => {
    const sim = new Sim();
    sim.bars = false;
    sim.runUntil(200_000); // stale since 0, incident open at 120 s, no halt yet (due at 300 s)
    expect(sim.commands('halt')).toEqual([]);
    sim.phase = 'closed';
    sim.runUntil(17 * HOUR);
    sim.phase = 'open';
    sim.runUntil(17 * HOUR + 99_000);
    expect(sim.commands('halt')).toEqual([]);
    expect(sim.commands('flatten')).toEqual([]);
    // 200 s stale before the close + 100 s after the open = FLATTEN_AFTER_MS: now it halts, then flattens.
    sim.runUntil(17 * HOUR + 101_000);
    expect(sim.commands('halt')).toEqual([expect.objectContaining({ at: 17 * HOUR + 100_000 })]);
    expect(sim.alerts('no_bar')).toHaveLength(1);
    sim.bars = true;
    sim.runUntil(18 * HOUR);
    const resolved = sim.alerts('resumed');
    expect(resolved).toHaveLength(1);
    // Stale for the 200 s before the close and the time from the open to the first bar, not the night.
    expect(resolved[0]!.durationMs).toBeLessThan(10 * 60_000);
  });

  it('a restart while an incident is paused over the close keeps it paused', () => {
    const sim = new Sim();
    sim.bars = false;
    sim.runUntil(200_000);
    sim.phase = 'closed';
    sim.runUntil(300_000);
    const saved = JSON.parse(JSON.stringify(persisted(sim.state))) as ReturnType<typeof persisted>;
    const restarted = new Sim(
      cfg,
      initialState(5 * HOUR, saved, { phase: 'closed', lastBarStoredAt: 0, savedAt: 300_000 }),
    );
    restarted.now = 5 * HOUR;
    restarted.phase = 'closed';
    restarted.bars = false;
    restarted.runUntil(17 * HOUR);
    restarted.phase = 'open';
    restarted.runUntil(17 * HOUR + 5_000);
    expect(restarted.commands('halt')).toEqual([]);
    expect(staleMarketMs(restarted.state.incident!, restarted.now)).toBeLessThan(300_000);
  });
});

describe('rules: gateway states a person must act on', () => {
  it('raises auth_failed and config_error once while the heartbeat reports them, and resolves them when it moves on', () => {
    const sim = new Sim();
    sim.runUntil(10_000);
    sim.gatewayState = 'auth_failed';
    sim.runUntil(60_000);
    expect(sim.alerts('auth_failed')).toEqual([
      expect.objectContaining({ status: 'open', severity: 'critical', at: 15_000 }),
    ]);
    sim.gatewayState = 'streaming';
    sim.runUntil(70_000);
    expect(sim.alerts('auth_failed')).toEqual([
      expect.objectContaining({ status: 'open' }),
      expect.objectContaining({ status: 'resolved', durationMs: 50_000 }),
    ]);
    sim.gatewayState = 'config_error';
    sim.runUntil(80_000);
    expect(sim.alerts('config_error')).toEqual([
      expect.objectContaining({ status: 'open', severity: 'critical', message: expect.stringContaining('test') }),
    ]);
  });

  it('raises buffer_high at BUFFER_ALERT_FILL and resolves it only below half of it', () => {
    const sim = new Sim();
    sim.bufferFill = 0.4;
    sim.runUntil(10_000);
    expect(sim.alerts('buffer_high')).toEqual([]);
    sim.bufferFill = 0.6;
    sim.runUntil(20_000);
    sim.bufferFill = 0.3;
    sim.runUntil(30_000);
    expect(sim.alerts('buffer_high')).toEqual([expect.objectContaining({ status: 'open', severity: 'warning' })]);
    sim.bufferFill = 0.1;
    sim.runUntil(40_000);
    expect(sim.alerts('buffer_high').map((a) => a.status)).toEqual(['open', 'resolved']);
  });

  it('says data_repaired (info, no incident) once per heartbeat that shows new audit repairs, never for a baseline', () => {
    const sim = new Sim();
    sim.audit = { missing: 2, revised: 0 };
    sim.runUntil(20_000);
    expect(sim.alerts('data_repaired')).toEqual([]);
    sim.audit = { missing: 3, revised: 1 };
    sim.runUntil(40_000);
    expect(sim.alerts('data_repaired')).toEqual([
      expect.objectContaining({
        severity: 'info',
        status: 'info',
        incidentId: null,
        details: { missing: 1, revised: 1, instanceId: 'gw-1' },
      }),
    ]);
    expect(sim.alerts().filter((a) => a.status === 'open')).toEqual([]);
    expect(sim.commands()).toEqual([]);
  });
});

describe('rules: a degraded feed (live stream down, polling carrying fresh bars)', () => {
  it('warns after DEGRADED_ALERT_MS, turns critical after DEGRADED_CRITICAL_MS, and resolves when the stream is back', () => {
    const sim = new Sim();
    sim.runUntil(60_000);
    sim.liveDownAt = 60_000; // bars keep coming every minute: polling carries them
    sim.runUntil(179_000);
    expect(sim.alerts('feed_degraded')).toEqual([]);
    sim.runUntil(185_000);
    expect(sim.alerts('feed_degraded')).toEqual([
      expect.objectContaining({
        status: 'open',
        severity: 'warning',
        at: 180_000,
        message: expect.stringMatching(/2\.0 min; bars are arriving by REST polling/),
      }),
    ]);
    sim.runUntil(660_000);
    expect(sim.alerts('feed_degraded').map((a) => [a.severity, a.at])).toEqual([
      ['warning', 180_000],
      ['critical', 660_000],
    ]);
    sim.liveDownAt = null;
    sim.runUntil(700_000);
    const resolved = sim.alerts('feed_degraded').at(-1)!;
    expect(resolved).toMatchObject({
      status: 'resolved',
      severity: 'info',
      at: 665_000,
      durationMs: 605_000,
      incidentId: sim.alerts('feed_degraded')[0]!.incidentId,
    });
    // The data was fresh all along: no stale-data incident, and with DEGRADED_POLICY=alert no command.
    expect(sim.alerts('no_bar')).toEqual([]);
    expect(sim.commands()).toEqual([]);
  });

  it('with DEGRADED_POLICY=halt halts once when it opens and resumes when the stream is back', () => {
    const sim = new Sim({ ...cfg, degradedPolicy: 'halt' });
    sim.runUntil(60_000);
    sim.liveDownAt = 60_000;
    sim.runUntil(400_000);
    const id = sim.alerts('feed_degraded')[0]!.incidentId;
    expect(sim.commands('halt')).toEqual([expect.objectContaining({ at: 180_000, incidentId: id })]);
    expect(sim.commands('flatten')).toEqual([]);
    expect(sim.state.executorHalted).toBe(true);
    sim.liveDownAt = null;
    sim.runUntil(420_000);
    expect(sim.commands('resume')).toEqual([expect.objectContaining({ at: 405_000 })]);
    expect(sim.state.executorHalted).toBe(false);
  });

  it('does not open while the market is closed', () => {
    const sim = new Sim();
    sim.phase = 'closed';
    sim.bars = false;
    sim.liveDownAt = 0;
    sim.runUntil(30 * 60_000);
    expect(sim.alerts('feed_degraded')).toEqual([]);
  });
});

describe('rules: a held position nobody decides on', () => {
  it('stays quiet while the strategy decides on every bar, and while nothing is held', () => {
    const sim = new Sim();
    sim.positions = { SPY: 20 };
    sim.runUntil(30 * 60_000);
    expect(sim.alerts('position_unmanaged')).toEqual([]);
    const flat = new Sim();
    flat.positions = {};
    flat.deciding = false;
    flat.runUntil(30 * 60_000);
    expect(flat.alerts('position_unmanaged')).toEqual([]);
  });

  it('pages when a live strategy decides nothing, halts FLATTEN_AFTER_MS later, flattens, and resolves once decisions are back', () => {
    const sim = new Sim();
    sim.positions = { SPY: 20 };
    sim.runUntil(120_000);
    sim.deciding = false; // e.g. a filter that drops every polled bar: the bars arrive, nothing is decided
    // The first undecided bar arrives at 180 s: UNMANAGED_ALERT_MS (180 s) later it pages.
    sim.runUntil(359_000);
    expect(sim.alerts('position_unmanaged')).toEqual([]);
    sim.runUntil(360_000);
    expect(sim.alerts('position_unmanaged')).toEqual([
      expect.objectContaining({
        status: 'open',
        severity: 'critical',
        at: 360_000,
        message: expect.stringMatching(/SPY 20 sh, 3\.0 min without a decision \(strategy heartbeat 5\.0 s ago\)/),
      }),
    ]);
    sim.runUntil(659_000);
    expect(sim.commands('halt')).toEqual([]);
    sim.runUntil(662_000);
    const id = sim.alerts('position_unmanaged')[0]!.incidentId;
    expect(sim.commands('halt')).toEqual([expect.objectContaining({ at: 660_000, incidentId: id })]);
    expect(sim.commands('flatten')).toEqual([expect.objectContaining({ at: 661_000, incidentId: id })]);
    sim.deciding = true;
    sim.runUntil(730_000);
    expect(sim.alerts('position_unmanaged').at(-1)).toMatchObject({ status: 'resolved', at: 720_000 });
    // It flattened: the halt is left for a person (RESUME_AFTER_FLATTEN=manual), and said so.
    expect(sim.commands('resume')).toEqual([]);
    expect(sim.alerts('command_failed').at(-1)).toMatchObject({
      severity: 'critical',
      message: expect.stringMatching(/stays halted until a person/),
    });
    expect(sim.alerts('no_bar')).toEqual([]);
  });

  it('pages when the strategy is gone altogether, and says so', () => {
    const sim = new Sim();
    sim.positions = { SPY: -5 };
    sim.runUntil(120_000);
    sim.strategyAlive = false;
    sim.runUntil(400_000);
    expect(sim.alerts('position_unmanaged')).toEqual([
      expect.objectContaining({
        status: 'open',
        message: expect.stringMatching(/SPY -5 sh.*strategy heartbeat 4\.\d min ago/),
      }),
    ]);
  });

  it('with no bars at all leaves the page to no_bar, and resolves at the close', () => {
    const sim = new Sim();
    sim.positions = { SPY: 20 };
    sim.runUntil(60_000);
    sim.bars = false;
    sim.runUntil(600_000);
    expect(sim.alerts('no_bar')).toHaveLength(1);
    expect(sim.alerts('position_unmanaged')).toEqual([]);

    const late = new Sim();
    late.positions = { SPY: 20 };
    late.runUntil(60_000);
    late.deciding = false;
    late.runUntil(400_000);
    late.phase = 'closed';
    late.bars = false;
    late.runUntil(401_000);
    expect(late.alerts('position_unmanaged').map((a) => a.status)).toEqual(['open', 'resolved']);
  });

  it('keeps an open page and its halt across a watchdog restart', () => {
    const sim = new Sim();
    sim.positions = { SPY: 20 };
    sim.runUntil(60_000);
    sim.deciding = false;
    sim.runUntil(700_000);
    expect(sim.state.unmanaged?.halt).toBe('done');
    const restarted = initialState(700_000, persisted(sim.state), { phase: 'open', lastBarStoredAt: 660_000 });
    expect(restarted.unmanaged).toMatchObject({ id: sim.state.unmanaged!.id, halt: 'done' });
    expect(restarted.executorHalted).toBe(true);
  });
});
