/**
 * Runs tasks concurrently across keys and in order within a key, with at most `maxInFlight` admitted at once
 * (running or queued behind their key). A durable consumer uses it so that one symbol's bar never waits
 * for another symbol's round trips, while each symbol's bars are still handled in the order they came.
 */
export class KeyedLanes {
  private readonly tails = new Map<string, Promise<void>>();
  private admitted = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly maxInFlight: number) {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1)
      throw new RangeError(`maxInFlight must be a positive integer, got ${maxInFlight}`);
  }

  /** Tasks admitted and not yet finished. */
  get inFlight(): number {
    return this.admitted;
  }

  /**
   * Waits for room, then queues `task` behind the last task of `key` and returns once it is queued (not once
   * it has run). `task` must not throw: a failure is the caller's to handle inside it.
   */
  async push(key: string, task: () => Promise<void>): Promise<void> {
    while (this.admitted >= this.maxInFlight) await new Promise<void>((wake) => this.waiting.push(wake));
    this.admitted += 1;
    const run = (this.tails.get(key) ?? Promise.resolve()).then(task).finally(() => {
      this.admitted -= 1;
      if (this.tails.get(key) === run) this.tails.delete(key);
      this.waiting.shift()?.();
    });
    this.tails.set(key, run);
  }

  /** Resolves once every task admitted so far has finished. */
  async drain(): Promise<void> {
    while (this.tails.size > 0) await Promise.allSettled([...this.tails.values()]);
  }
}
