import { describe, expect, it } from 'vitest';
import { SendQueue } from './send-queue.js';

const entry = (symbol: string, i: number) => ({ bar: { symbol }, i });

function queueOf(...symbols: string[]) {
  const q = new SendQueue<ReturnType<typeof entry>>();
  for (const [i, s] of symbols.entries()) q.push(entry(s, i));
  return q;
}

function takeAll(q: SendQueue<ReturnType<typeof entry>>) {
  const out = [];
  for (let e = q.take(); e; e = q.take()) out.push(e);
  return out;
}

describe('SendQueue', () => {
  it('sends the first queued bar of each symbol, so no symbol has two in flight', () => {
    const q = queueOf('A', 'A', 'B', 'A', 'C', 'B');
    expect(takeAll(q).map((e) => e.i)).toEqual([0, 2, 4]);
    expect(q.inFlight).toBe(3);
    expect(q.size).toBe(6);
  });

  it("a stored bar makes its symbol's next one ready, behind the symbols already waiting", () => {
    const q = queueOf('A', 'A', 'B');
    const [a0] = takeAll(q);
    q.push(entry('C', 3));
    q.done(a0!);
    expect(takeAll(q).map((e) => e.i)).toEqual([3, 1]);
    expect(q.size).toBe(3);
  });

  it('a bar that failed goes out again before anything else, its symbol still in order', () => {
    const q = queueOf('A', 'A', 'B', 'C');
    const a0 = q.take()!;
    q.putBack(a0);
    expect(takeAll(q).map((e) => e.i)).toEqual([0, 2, 3]);
    q.putBack(a0);
    expect(q.take()!.i).toBe(0);
  });

  it('empties: every entry taken and done leaves nothing queued or in flight', () => {
    const q = new SendQueue<ReturnType<typeof entry>>();
    const symbols = Array.from({ length: 3000 }, (_, i) => `S${i % 1500}`);
    for (const [i, s] of symbols.entries()) q.push(entry(s, i));
    const order: number[] = [];
    while (q.size > 0)
      for (const e of takeAll(q)) {
        order.push(e.i);
        q.done(e);
      }
    expect(order).toHaveLength(3000);
    // Each symbol's two bars in the order queued.
    expect(order.indexOf(0)).toBeLessThan(order.indexOf(1500));
    expect(q.inFlight).toBe(0);
    expect(q.hasReady()).toBe(false);
  });
});
