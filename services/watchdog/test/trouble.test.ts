// The two troubles besides stale data, against a real nats-server: a live stream down while polling carries
// fresh bars (feed_degraded), and a held position nobody decides on (position_unmanaged).
import { waitFor } from '@vigil/service-kit/testing';
import { describe, expect, it } from 'vitest';
import {
  alertCollector,
  fakeBroker,
  fakeExecutor,
  fakeGateway,
  fakePositions,
  fakeStrategy,
  natsSuite,
  runWatchdog,
} from './harness.js';

const suite = natsSuite();
const later = suite.later;

describe('feed_degraded against a real nats-server', () => {
  it('warns, turns critical and resolves while polled bars stay fresh; no stale-data incident, no command', async () => {
    const collector = later(await alertCollector(suite.server.url));
    const gateway = later(await fakeGateway(suite.server.url));
    const executor = later(await fakeExecutor(suite.server.url));
    const wd = later(await runWatchdog(suite.server.url, fakeBroker('open').source));
    await waitFor('first heartbeat', () => wd.watchdog.status().feed?.dataPath === 'live');

    gateway.liveDownAt = Date.now();
    const warning = await waitFor('feed_degraded warning', () =>
      collector.of('feed_degraded', 'open').find((a) => a.severity === 'warning'),
    );
    expect(warning.message).toMatch(/live stream down for .*bars are arriving by REST polling/);
    await waitFor('feed_degraded critical', () =>
      collector.of('feed_degraded', 'open').find((a) => a.severity === 'critical'),
    );
    expect(wd.watchdog.status().degraded).toMatchObject({ id: warning.incidentId, critical: true });

    gateway.liveDownAt = null;
    const resolved = await waitFor('feed_degraded resolved', () => collector.of('feed_degraded', 'resolved')[0]);
    expect(resolved.incidentId).toBe(warning.incidentId);
    expect(resolved.durationMs).toBeGreaterThanOrEqual(1500);
    expect(collector.of('no_bar')).toEqual([]);
    expect(executor.requests).toEqual([]);
  });

  it('with DEGRADED_POLICY=halt halts the executor while the stream is down and resumes it after', async () => {
    const collector = later(await alertCollector(suite.server.url));
    const gateway = later(await fakeGateway(suite.server.url));
    const executor = later(await fakeExecutor(suite.server.url));
    later(await runWatchdog(suite.server.url, fakeBroker('open').source, { DEGRADED_POLICY: 'halt' }));
    gateway.liveDownAt = Date.now();
    const opened = await waitFor('feed_degraded', () => collector.of('feed_degraded', 'open')[0]);
    await waitFor('halt', () => executor.requests.find((r) => r.command === 'halt'));
    expect(executor.requests.find((r) => r.command === 'halt')?.incidentId).toBe(opened.incidentId);
    gateway.liveDownAt = null;
    await waitFor('resume', () => executor.requests.find((r) => r.command === 'resume'));
    expect(executor.requests.map((r) => r.command)).toEqual(['halt', 'resume']);
  });
});

describe('position_unmanaged against a real nats-server', () => {
  it('pages when a live strategy decides nothing on fresh bars, applies FLATTEN_POLICY later, resolves once it decides, leaves the halt for a person', async () => {
    const collector = later(await alertCollector(suite.server.url));
    later(await fakeGateway(suite.server.url));
    const executor = later(await fakeExecutor(suite.server.url));
    const strategy = later(await fakeStrategy(suite.server.url, { deciding: false }));
    const positions = fakePositions({ SPY: 20 });
    const wd = later(
      await runWatchdog(
        suite.server.url,
        fakeBroker('open').source,
        { FLATTEN_POLICY: 'flatten', FLATTEN_AFTER_MS: '900' },
        positions.source,
      ),
    );

    const page = await waitFor('position_unmanaged', () => collector.of('position_unmanaged', 'open')[0]);
    expect(page).toMatchObject({
      severity: 'critical',
      message: expect.stringMatching(/SPY 20 sh, .* without a decision \(strategy heartbeat .* ago\)/),
    });
    expect(wd.watchdog.status().unmanaged?.symbols).toEqual(['SPY']);
    await waitFor('flatten', () => executor.requests.find((r) => r.command === 'flatten'));
    expect(executor.requests.filter((r) => r.incidentId === page.incidentId).map((r) => r.command)).toEqual([
      'halt',
      'flatten',
    ]);
    // Bars were fresh all along: this is not a stale-data incident.
    expect(collector.of('no_bar')).toEqual([]);

    strategy.deciding = true;
    const resolved = await waitFor('resolved', () => collector.of('position_unmanaged', 'resolved')[0]);
    expect(resolved.incidentId).toBe(page.incidentId);
    // It flattened: the halt is left for a person (RESUME_AFTER_FLATTEN=manual, the default), and said so.
    await waitFor('the page saying a person must resume', () =>
      collector.of('command_failed').find((a) => /stays halted until a person/.test(a.message)),
    );
    expect(executor.requests.filter((r) => r.command === 'resume')).toEqual([]);
  });

  it('pages when the strategy is killed while a position is held, and stays quiet while the account is flat', async () => {
    const collector = later(await alertCollector(suite.server.url));
    later(await fakeGateway(suite.server.url));
    later(await fakeExecutor(suite.server.url));
    const strategy = later(await fakeStrategy(suite.server.url, { deciding: false }));
    const positions = fakePositions({});
    const wd = later(
      await runWatchdog(suite.server.url, fakeBroker('open').source, { FLATTEN_POLICY: 'off' }, positions.source),
    );
    await waitFor('a few position reads', () => positions.reads >= 10);
    expect(collector.of('position_unmanaged')).toEqual([]);

    strategy.alive = false;
    positions.held = { SPY: 148 };
    const page = await waitFor('position_unmanaged', () => collector.of('position_unmanaged', 'open')[0]);
    expect(page.message).toMatch(/SPY 148 sh/);
    expect(wd.watchdog.status().positions).toEqual([expect.objectContaining({ symbol: 'SPY', qty: 148 })]);

    // The account goes flat (a person closed it): nothing is left unmanaged.
    positions.held = {};
    await waitFor('resolved', () => collector.of('position_unmanaged', 'resolved')[0]);
  });
});
