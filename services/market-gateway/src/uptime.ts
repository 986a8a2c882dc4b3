/**
 * Share of market-open time the feed spent streaming. Fed with observations at arbitrary instants; the
 * span since the previous observation is credited with the previous observation's state.
 */
export class UptimeTracker {
  private openMs = 0;
  private streamingMs = 0;
  private last: { at: number; open: boolean; streaming: boolean } | null = null;

  observe(at: number, open: boolean, streaming: boolean): void {
    if (this.last && at > this.last.at && this.last.open) {
      const span = at - this.last.at;
      this.openMs += span;
      if (this.last.streaming) this.streamingMs += span;
    }
    this.last = { at, open, streaming };
  }

  /** 0–100, or null before any market-open time was observed. */
  percent(): number | null {
    return this.openMs === 0 ? null : Math.round((10_000 * this.streamingMs) / this.openMs) / 100;
  }
}
