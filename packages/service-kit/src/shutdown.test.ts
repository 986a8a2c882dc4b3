import { afterEach, describe, expect, it } from 'vitest';
import { installShutdown } from './shutdown.js';
import { captureLogger } from './testing/log-capture.js';

const signals = ['SIGTERM', 'SIGINT'] as const;
const before = Object.fromEntries(signals.map((s) => [s, process.listeners(s)]));

afterEach(() => {
  // installShutdown's handlers stay on the process; only the test's own are removed.
  for (const s of signals) for (const l of process.listeners(s)) if (!before[s]!.includes(l)) process.off(s, l);
});

/** Shutdown whose one task waits until `finish()`, with exits recorded instead of taken. */
function start() {
  const { logger, lines } = captureLogger();
  const exits: number[] = [];
  let finish = () => {};
  const drained = new Promise<void>((resolve) => (finish = resolve));
  installShutdown({
    logger,
    timeoutMs: 10_000,
    exit: (code) => void exits.push(code),
    tasks: () => [{ name: 'drain', run: () => drained }],
  });
  return {
    exits,
    finish,
    msgs: () =>
      lines()
        .filter((l) => (l.level as number) >= 30)
        .map((l) => l.msg),
  };
}

describe('shutdown on signals', () => {
  it('drains to the end when SIGTERM comes again (the parent-death signal comes once per launcher thread)', async () => {
    const s = start();
    process.emit('SIGTERM');
    process.emit('SIGTERM');
    process.emit('SIGTERM');
    expect(s.exits).toEqual([]);
    s.finish();
    await new Promise((r) => setImmediate(r));
    expect(s.exits).toEqual([0]);
    expect(s.msgs()).toEqual([
      'shutting down',
      'already shutting down; the deadline still applies',
      'already shutting down; the deadline still applies',
      'stopped',
    ]);
  });

  it('exits at once on a second Ctrl-C', () => {
    const s = start();
    process.emit('SIGTERM');
    process.emit('SIGINT');
    expect(s.exits).toEqual([130]);
  });
});
