import { expect, it } from 'vitest';
import { KeyedLanes } from './keyed-lanes.js';

interface Gate {
  open(): void;
  opened: Promise<void>;
}
function gate(): Gate {
  let open = () => {};
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}
const tick = () => new Promise((r) => setImmediate(r));

it('runs different keys side by side and one key in order', async () => {
  const lanes = new KeyedLanes(10);
  const log: string[] = [];
  const a1 = gate();
  await lanes.push('A', async () => {
    log.push('A1 start');
    await a1.opened;
    log.push('A1 end');
  });
  await lanes.push('A', async () => {
    log.push('A2');
  });
  await lanes.push('B', async () => {
    log.push('B1');
  });
  await tick();
  // B did not wait for A1; A2 did.
  expect(log).toEqual(['A1 start', 'B1']);
  a1.open();
  await lanes.drain();
  expect(log).toEqual(['A1 start', 'B1', 'A1 end', 'A2']);
  expect(lanes.inFlight).toBe(0);
});

it('admits no more than maxInFlight at once, and the next as soon as one finishes', async () => {
  const lanes = new KeyedLanes(2);
  const gates = [gate(), gate(), gate()];
  let running = 0;
  let most = 0;
  const task = (g: Gate) => async () => {
    running += 1;
    most = Math.max(most, running);
    await g.opened;
    running -= 1;
  };
  await lanes.push('A', task(gates[0] as Gate));
  await lanes.push('B', task(gates[1] as Gate));
  let thirdAdmitted = false;
  const third = lanes.push('C', task(gates[2] as Gate)).then(() => {
    thirdAdmitted = true;
  });
  await tick();
  expect(thirdAdmitted).toBe(false);
  expect(lanes.inFlight).toBe(2);
  gates[0]?.open();
  await third;
  expect(thirdAdmitted).toBe(true);
  gates[1]?.open();
  gates[2]?.open();
  await lanes.drain();
  expect(most).toBe(2);
});

it('drain waits for tasks queued while it waits', async () => {
  const lanes = new KeyedLanes(4);
  const done: string[] = [];
  const first = gate();
  await lanes.push('A', async () => {
    await first.opened;
    done.push('A1');
    await lanes.push('B', async () => {
      done.push('B1');
    });
  });
  const drained = lanes.drain();
  first.open();
  await drained;
  expect(done).toEqual(['A1', 'B1']);
});

it('refuses a bound that is not a positive integer', () => {
  expect(() => new KeyedLanes(0)).toThrow(/positive integer/);
  expect(() => new KeyedLanes(1.5)).toThrow(/positive integer/);
});
