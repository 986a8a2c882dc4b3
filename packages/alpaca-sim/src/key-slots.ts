/**
 * One authenticated stream per API key, as on every Alpaca plan we target. A session that vanished
 * without a close frame keeps its key as a zombie for `graceMs`, like Alpaca's ~90 s, so quick
 * reconnects get 406.
 */
export class KeySlots<S> {
  private readonly live = new Map<string, S>();
  private readonly zombies = new Map<string, number>();

  constructor(
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Take `key` for `session`; false if another live session or a zombie holds it. */
  acquire(key: string, session: S): boolean {
    const holder = this.live.get(key);
    if (holder !== undefined && holder !== session) return false;
    const until = this.zombies.get(key);
    if (until !== undefined && until > this.now()) return false;
    this.zombies.delete(key);
    this.live.set(key, session);
    return true;
  }

  /** Give the key back; `unclean` leaves a zombie for the grace period. */
  release(key: string, session: S, unclean: boolean): void {
    if (this.live.get(key) !== session) return;
    this.live.delete(key);
    if (unclean && this.graceMs > 0) this.zombies.set(key, this.now() + this.graceMs);
  }

  /** Forget any zombie of `key` (kill_session). */
  forgetZombie(key: string): boolean {
    return this.zombies.delete(key);
  }

  holder(key: string): S | undefined {
    return this.live.get(key);
  }

  zombieList(): { key: string; until: string }[] {
    const now = this.now();
    return [...this.zombies]
      .filter(([, until]) => until > now)
      .map(([key, until]) => ({ key, until: new Date(until).toISOString() }));
  }
}
