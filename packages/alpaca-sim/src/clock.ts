import { EventEmitter } from 'node:events';
import { MINUTE_MS, nyTime } from './calendar.js';

/** A regular trading day (Tuesday 2026-01-06) at the 09:30 New York open. */
export const DEFAULT_START_MS = nyTime('2026-01-06', 9, 30);

export interface ClockOptions {
  startMs?: number;
  /** Wall milliseconds per simulated minute: 60000 is real time, tests use tens. */
  msPerMinute?: number;
  /** Wall clock; injected so tests can fake it. */
  wallNow?: () => number;
}

export interface ClockState {
  now: string;
  nowMs: number;
  msPerMinute: number;
  paused: boolean;
}

/**
 * Simulated time: a straight line through (anchorWall, anchorSim) with slope 60000/msPerMinute. Every
 * change (jump, speed, pause) re-anchors it and emits `change`, so timers armed on the old line re-arm.
 */
export class SimClock extends EventEmitter<{ change: [ClockState] }> {
  private anchorWall: number;
  private anchorSim: number;
  private speed: number;
  private paused = false;
  private readonly wallNow: () => number;

  constructor(opts: ClockOptions = {}) {
    super();
    this.wallNow = opts.wallNow ?? Date.now;
    this.anchorWall = this.wallNow();
    this.anchorSim = opts.startMs ?? DEFAULT_START_MS;
    this.speed = checkSpeed(opts.msPerMinute ?? MINUTE_MS);
  }

  now(): number {
    if (this.paused) return this.anchorSim;
    return this.anchorSim + Math.floor(((this.wallNow() - this.anchorWall) * MINUTE_MS) / this.speed);
  }

  get msPerMinute(): number {
    return this.speed;
  }

  isPaused(): boolean {
    return this.paused;
  }

  /** Wall milliseconds until simulated instant `simMs` (Infinity while paused). */
  wallMsUntil(simMs: number): number {
    if (this.paused) return Infinity;
    return Math.max(0, Math.ceil(((simMs - this.now()) * this.speed) / MINUTE_MS));
  }

  set(simMs: number): void {
    this.reanchor(simMs);
  }

  advance(ms: number): void {
    this.reanchor(this.now() + ms);
  }

  setSpeed(msPerMinute: number): void {
    const now = this.now();
    this.speed = checkSpeed(msPerMinute);
    this.reanchor(now);
  }

  setPaused(paused: boolean): void {
    const now = this.now();
    this.paused = paused;
    this.reanchor(now);
  }

  state(): ClockState {
    const nowMs = this.now();
    return { now: new Date(nowMs).toISOString(), nowMs, msPerMinute: this.speed, paused: this.paused };
  }

  private reanchor(simMs: number): void {
    this.anchorWall = this.wallNow();
    this.anchorSim = simMs;
    this.emit('change', this.state());
  }
}

function checkSpeed(msPerMinute: number): number {
  if (!Number.isFinite(msPerMinute) || msPerMinute < 1) {
    throw new RangeError(`msPerMinute must be a number >= 1, got ${msPerMinute}`);
  }
  return msPerMinute;
}
