import { EventEmitter } from 'node:events';
import type { Logger } from '@vigil/service-kit';
import { MINUTE_MS, isOpenAt, sessionOn, nyDate } from './calendar.js';
import {
  barForMinute,
  historicalBars,
  quoteFor,
  tradesInMinute,
  updatedBarForMinute,
  type Bar,
  type MarketModel,
  type Quote,
  type Trade,
} from './bars.js';
import type { SimClock } from './clock.js';

/** Trades go out every ten simulated seconds, so a liquid symbol is never silent for long while open. */
export const SLOT_MS = 10_000;
/** A larger gap than this between ticks is a clock jump: skip it rather than replay it. */
const MAX_CATCH_UP_SLOTS = 60;

export interface MarketTick {
  /** Start of the simulated slot this tick covers. */
  slotStartMs: number;
  trades: Trade[];
  quotes: Quote[];
  bars: Bar[];
  updatedBars: Bar[];
  dailyBars: Bar[];
  /** Set when this tick closes a minute: its start (epoch minute). */
  minuteClosed?: number;
}

/**
 * The market's heartbeat: walks simulated time in ten-second slots and emits each slot's trades and quotes,
 * the bars of a minute right after it closes, and corrections after the next half-minute mark.
 */
export class MarketFeed extends EventEmitter<{ tick: [MarketTick]; minute: [number] }> {
  private lastDone: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Bar start times published per symbol, in order (the ground truth for exactly-once checks). */
  readonly emittedBars = new Map<string, string[]>();

  constructor(
    private readonly model: MarketModel,
    readonly symbols: readonly string[],
    private readonly clock: SimClock,
    private readonly log: Logger,
    /** Whether any session subscribes to this channel: quotes and daily bars nobody reads are not computed (a
     * daily bar folds the whole day, per symbol per minute, which at 10,000 symbols outran the clock). */
    private readonly wanted: (channel: 'quotes' | 'dailyBars') => boolean = () => true,
  ) {
    super();
    this.lastDone = Math.floor(clock.now() / SLOT_MS) - 1;
    clock.on('change', () => this.onClockChange());
  }

  start(): void {
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** The fair last-trade price of `symbol` at simulated `ms` (its latest trade in or before that minute). */
  lastPrice(symbol: string, ms: number): number | null {
    const minute = Math.floor(ms / MINUTE_MS);
    const trades = tradesInMinute(this.model, symbol, minute).filter((t) => t.ms <= ms);
    if (trades.length) return trades.at(-1)!.trade.p;
    // The last few minutes first: the full lookback builds days of bars, and this runs for every position on
    // every positions read (it was a third of the simulator's CPU with 100 symbols, delaying its answers).
    const recent = historicalBars(this.model, symbol, ms - 3 * MINUTE_MS, ms, ms + MINUTE_MS).at(-1);
    if (recent) return recent.c;
    const day = sessionOn(nyDate(ms));
    const from = day ? Math.min(day.openMs, ms) - 4 * 86_400_000 : ms - 5 * 86_400_000;
    return historicalBars(this.model, symbol, from, ms, ms + MINUTE_MS).at(-1)?.c ?? null;
  }

  private onClockChange(): void {
    const nowSlot = Math.floor(this.clock.now() / SLOT_MS);
    if (nowSlot - 1 !== this.lastDone)
      this.log.info(
        { from: this.lastDone + 1, to: nowSlot - 1 },
        'clock moved: market skips to the new time without replaying',
      );
    this.lastDone = nowSlot - 1;
    if (this.running) this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    const wait = this.clock.wallMsUntil((this.lastDone + 2) * SLOT_MS);
    if (!Number.isFinite(wait)) return;
    this.timer = setTimeout(() => this.run(), wait);
  }

  private run(): void {
    const nowSlot = Math.floor(this.clock.now() / SLOT_MS);
    if (nowSlot - 1 - this.lastDone > MAX_CATCH_UP_SLOTS) {
      this.log.warn({ behindSlots: nowSlot - 1 - this.lastDone }, 'market fell behind the clock: skipping ahead');
      this.lastDone = nowSlot - 1 - MAX_CATCH_UP_SLOTS;
    }
    while (this.lastDone < nowSlot - 1) {
      this.lastDone += 1;
      this.emitSlot(this.lastDone);
    }
    this.arm();
  }

  private emitSlot(slot: number): void {
    const start = slot * SLOT_MS;
    const end = start + SLOT_MS;
    const tick: MarketTick = { slotStartMs: start, trades: [], quotes: [], bars: [], updatedBars: [], dailyBars: [] };
    const minute = Math.floor(start / MINUTE_MS);
    const quotes = this.wanted('quotes');
    for (const symbol of this.symbols) {
      for (const { trade, ms } of tradesInMinute(this.model, symbol, minute)) {
        if (ms < start || ms >= end) continue;
        if (quotes) tick.quotes.push(quoteFor(this.model.seed, trade));
        tick.trades.push(trade);
      }
    }
    if (end % MINUTE_MS === 0) {
      tick.minuteClosed = minute;
      const daily = this.wanted('dailyBars') && isOpenAt(start);
      for (const symbol of this.symbols) {
        const bar = barForMinute(this.model, symbol, minute);
        if (bar) {
          tick.bars.push(bar);
          const list = this.emittedBars.get(symbol) ?? [];
          list.push(bar.t);
          this.emittedBars.set(symbol, list);
        }
        const dailyBar = daily ? this.dailyBar(symbol, end) : null;
        if (dailyBar) tick.dailyBars.push(dailyBar);
      }
    }
    if (end % MINUTE_MS === 30_000) {
      for (const symbol of this.symbols) {
        const updated = updatedBarForMinute(this.model, symbol, minute - 1);
        if (updated) tick.updatedBars.push(updated);
      }
    }
    this.emit('tick', tick);
    if (tick.minuteClosed !== undefined) this.emit('minute', tick.minuteClosed);
  }

  /** The running daily bar: the day's trades so far, labelled midnight New York time. */
  private dailyBar(symbol: string, nowMs: number): Bar | null {
    const day = sessionOn(nyDate(nowMs - 1));
    if (!day) return null;
    const bars = historicalBars(this.model, symbol, day.openMs, nowMs, nowMs);
    if (!bars.length) return null;
    const v = bars.reduce((a, b) => a + b.v, 0);
    const midnight = day.openMs - (9 * 60 + 30) * MINUTE_MS;
    return {
      S: symbol,
      o: bars[0]!.o,
      h: Math.max(...bars.map((b) => b.h)),
      l: Math.min(...bars.map((b) => b.l)),
      c: bars.at(-1)!.c,
      v,
      n: bars.reduce((a, b) => a + b.n, 0),
      vw: Math.round((bars.reduce((a, b) => a + b.vw * b.v, 0) / v) * 1e6) / 1e6,
      t: new Date(midnight).toISOString().replace('.000Z', 'Z'),
    };
  }
}
