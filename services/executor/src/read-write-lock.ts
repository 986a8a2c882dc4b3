/**
 * Many readers or one writer, first come first served: a writer waits for the readers inside, and readers
 * that come after a waiting writer wait for it. The executor places orders for different symbols as readers
 * and flattens as the writer, so a flatten never runs beside an order on its way to the broker and is never
 * starved by a stream of them.
 */
export class ReadWriteLock {
  private readers = 0;
  private writing = false;
  private readonly waiting: Array<{ write: boolean; enter: () => void }> = [];

  read<T>(fn: () => Promise<T>): Promise<T> {
    return this.hold(false, fn);
  }

  write<T>(fn: () => Promise<T>): Promise<T> {
    return this.hold(true, fn);
  }

  private async hold<T>(write: boolean, fn: () => Promise<T>): Promise<T> {
    await new Promise<void>((enter) => {
      this.waiting.push({ write, enter });
      this.admit();
    });
    try {
      return await fn();
    } finally {
      if (write) this.writing = false;
      else this.readers -= 1;
      this.admit();
    }
  }

  private admit(): void {
    for (;;) {
      const next = this.waiting[0];
      if (!next || this.writing) return;
      if (next.write) {
        if (this.readers > 0) return;
        this.writing = true;
      } else this.readers += 1;
      this.waiting.shift();
      next.enter();
    }
  }
}
