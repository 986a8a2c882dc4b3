// Issue 14, done when: killing (SIGKILL) or freezing (SIGSTOP) any one of NATS, watchdog, strategy, executor or
// gateway during a simulated session raises the right alert from something still alive, or stops the dead
// man's pings. One system, each case in turn, each brought back before the next. Bounds only; the times are
// measured by `pnpm bench:kills` into BENCHMARKS.md.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KILL_CASES, runKillCase, startWatchedSystem, type WatchedSystem } from '../e2e/kill-scenarios.js';

let w: WatchedSystem;
beforeAll(async () => {
  w = await startWatchedSystem(resolve(import.meta.dirname, '../../.vigil/e2e-kills'));
}, 90_000);
afterAll(async () => w?.stop());

/** Generous: each detector is set to about a second; a loaded two-core machine gets ten times that. */
const WITHIN_MS = 10_000;

describe('nothing in Vigil dies silently', () => {
  it('pings the dead man switch while all is well', () => {
    expect(w.deadman.paths.filter((p) => !p.endsWith('/fail')).length).toBeGreaterThan(0);
  });

  for (const c of KILL_CASES) {
    const expected = detectors(c.target);
    it(`${c.how} of ${c.target}: ${expected.join(' or ')}`, async () => {
      const d = await runKillCase(w, c);
      expect(expected).toContain(d.by);
      expect(d.afterMs).toBeLessThan(WITHIN_MS);
    }, 90_000);
  }
});

/** What must notice each target: the watchdog for a service, an outside dead man's switch for the watchdog and NATS. */
function detectors(target: string): string[] {
  if (target === 'watchdog' || target === 'nats') return ['dead man pings stopped'];
  // The gateway has two watchers: its own heartbeat (gateway_down) and its health report (service_down).
  if (target === 'market-gateway') return ['gateway_down', 'service_down'];
  return ['service_down'];
}
