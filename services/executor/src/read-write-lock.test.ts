import { expect, it } from 'vitest';
import { ReadWriteLock } from './read-write-lock.js';

function gate(): { open: () => void; opened: Promise<void> } {
  let open = () => {};
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}
const settle = () => new Promise((r) => setTimeout(r, 5));

it('lets readers overlap, keeps a writer alone, and admits in arrival order', async () => {
  const lock = new ReadWriteLock();
  const log: string[] = [];
  const r1 = gate();
  const r2 = gate();
  const w = gate();
  const task = (name: string, g: { opened: Promise<void> }) => async () => {
    log.push(`${name} in`);
    await g.opened;
    log.push(`${name} out`);
  };
  const reads = [lock.read(task('r1', r1)), lock.read(task('r2', r2))];
  const write = lock.write(task('w', w));
  // A reader after a waiting writer waits for it: the writer is not starved.
  const late = lock.read(task('r3', { opened: Promise.resolve() }));
  await settle();
  expect(log).toEqual(['r1 in', 'r2 in']);
  r1.open();
  await settle();
  expect(log).toEqual(['r1 in', 'r2 in', 'r1 out']);
  r2.open();
  await settle();
  expect(log.slice(3)).toEqual(['r2 out', 'w in']);
  w.open();
  await Promise.all([...reads, write, late]);
  expect(log.slice(5)).toEqual(['w out', 'r3 in', 'r3 out']);
});

it('releases on a throw and passes it on', async () => {
  const lock = new ReadWriteLock();
  await expect(
    lock.write(async () => {
      throw new Error('flatten failed');
    }),
  ).rejects.toThrow('flatten failed');
  await expect(lock.read(async () => 'placed')).resolves.toBe('placed');
  await expect(lock.write(async () => 'flattened')).resolves.toBe('flattened');
});
