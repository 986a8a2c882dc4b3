import { MINUTE_MS } from '@vigil/contracts';

const HISTORY_MINUTES = 60;

/**
 * The figures people look at (page, health report, metrics): bar rate, last bar per symbol, and uptime,
 * the share of watched time (market not closed) during which no stale-data incident was open.
 */
export class Stats {
  private readonly lastBar = new Map<string, number>();
  private readonly perMinute = new Map<number, number>();
  private recent: number[] = [];
  private watchedMs = 0;
  private freshMs = 0;
  private lastTick: number | null = null;

  onBar(symbol: string, now: number): void {
    this.lastBar.set(symbol, now);
    this.recent = [...this.recent.filter((t) => now - t < MINUTE_MS), now];
    const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    this.perMinute.set(minute, (this.perMinute.get(minute) ?? 0) + 1);
    for (const m of this.perMinute.keys()) if (m <= minute - HISTORY_MINUTES * MINUTE_MS) this.perMinute.delete(m);
  }

  /** Account the time since the last tick as watched (and fresh, unless an incident was open). */
  onTick(now: number, watching: boolean, incidentOpen: boolean): void {
    if (this.lastTick !== null && watching) {
      const dt = now - this.lastTick;
      this.watchedMs += dt;
      if (!incidentOpen) this.freshMs += dt;
    }
    this.lastTick = now;
  }

  /** Bars received in the last 60 s. */
  barsPerMinute(now: number): number {
    this.recent = this.recent.filter((t) => now - t < MINUTE_MS);
    return this.recent.length;
  }

  /** One count per wall-clock minute for the last hour, oldest first. */
  history(now: number): { minute: string; bars: number }[] {
    const current = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    return Array.from({ length: HISTORY_MINUTES }, (_, i) => {
      const m = current - (HISTORY_MINUTES - 1 - i) * MINUTE_MS;
      return { minute: new Date(m).toISOString(), bars: this.perMinute.get(m) ?? 0 };
    });
  }

  /** Every symbol's last bar age, in no particular order. */
  symbols(now: number): { symbol: string; lastBarAgeMs: number }[] {
    return [...this.lastBar.entries()].map(([symbol, at]) => ({ symbol, lastBarAgeMs: now - at }));
  }

  /**
   * The `limit` symbols whose last bar is oldest, stalest first (ties by name), and how many have had one: with
   * `SYMBOLS=*` there are thousands, and the page needs the few that stopped, not a list it cannot show.
   */
  stalest(now: number, limit: number): { count: number; symbols: { symbol: string; lastBarAgeMs: number }[] } {
    const all = this.symbols(now).sort(
      (a, b) => b.lastBarAgeMs - a.lastBarAgeMs || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0),
    );
    return { count: all.length, symbols: all.slice(0, limit) };
  }

  /** Age of the newest bar of any symbol, or null before the first. */
  lastBarAgeMs(now: number): number | null {
    return this.lastBar.size ? now - Math.max(...this.lastBar.values()) : null;
  }

  uptimePct(): number {
    return this.watchedMs === 0 ? 100 : Math.round((10_000 * this.freshMs) / this.watchedMs) / 100;
  }
}
