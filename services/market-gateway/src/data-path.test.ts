import { Metrics } from '@vigil/service-kit';
import { captureLogger } from '@vigil/service-kit/testing';
import { describe, expect, it } from 'vitest';
import { dataPath, DataPathTracker, type DataPathInputs } from './data-path.js';

const up = { streaming: true, backfilling: false, polling: false };
const down = { streaming: false, backfilling: false, polling: false };

describe('dataPath', () => {
  it('is live, backfill, polling or none from the stream first', () => {
    expect(dataPath(up)).toBe('live');
    expect(dataPath({ ...up, backfilling: true })).toBe('backfill');
    expect(dataPath(down)).toBe('none');
    expect(dataPath({ ...down, polling: true })).toBe('polling');
  });

  it('ignores a poller that has not yet noticed the stream is back, and a backfill while the stream is down', () => {
    expect(dataPath({ ...up, polling: true })).toBe('live');
    expect(dataPath({ ...up, backfilling: true, polling: true })).toBe('backfill');
    expect(dataPath({ ...down, backfilling: true })).toBe('none');
    expect(dataPath({ ...down, backfilling: true, polling: true })).toBe('polling');
  });
});

describe('DataPathTracker', () => {
  function setup() {
    let now = 1_000;
    const { logger, lines } = captureLogger();
    const metrics = new Metrics('gw', { defaultMetrics: false });
    const tracker = new DataPathTracker({ now: () => now, logger, metrics });
    const at = (ms: number, inputs: DataPathInputs) => {
      now = ms;
      return tracker.observe(inputs, 'feed limited: 406 connection limit exceeded');
    };
    const changes = () =>
      lines()
        .filter((l) => l.component === 'data-path')
        .map((l) => [l.level, l.msg]);
    return { at, changes, lines, metrics };
  }

  it('starts as none since construction, and keeps the time of the last change while the path holds', () => {
    const { at } = setup();
    expect(at(5_000, down)).toEqual({ path: 'none', since: 1_000 });
    expect(at(6_000, up)).toEqual({ path: 'live', since: 6_000 });
    expect(at(9_000, { ...up, polling: true })).toEqual({ path: 'live', since: 6_000 });
  });

  it('logs each change once, warning when the stream is lost, not for a routine backfill', () => {
    const { at, changes } = setup();
    for (const [ms, inputs] of [
      [2_000, up],
      [3_000, up],
      [4_000, down],
      [5_000, down],
      [6_000, { ...down, polling: true }],
      [7_000, { ...up, backfilling: true, polling: true }],
      [8_000, up],
      [9_000, { ...up, backfilling: true }],
      [10_000, { ...down, polling: true }],
      [11_000, down],
    ] as const)
      at(ms, inputs);
    expect(changes()).toEqual([
      [30, 'data path live'],
      [40, 'data path none'],
      [30, 'data path polling'],
      [30, 'data path backfill'],
      [30, 'data path live'],
      [30, 'data path backfill'],
      [40, 'data path polling'],
      [40, 'data path none'],
    ]);
  });

  it('counts changes by new path and exposes the current path as a gauge', async () => {
    const { at, metrics } = setup();
    at(2_000, up);
    at(3_000, down);
    at(4_000, { ...down, polling: true });
    at(5_000, up);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/vigil_gateway_data_path_changes_total\{path="live",service="gw"\} 2/);
    expect(text).toMatch(/vigil_gateway_data_path_changes_total\{path="polling",service="gw"\} 1/);
    expect(text).toMatch(/vigil_gateway_data_path\{path="live",service="gw"\} 1/);
    expect(text).not.toMatch(/vigil_gateway_data_path\{path="polling"/);
  });

  it('logs the reason for the new path and what the feed said', () => {
    const { at, lines } = setup();
    at(2_000, { ...down, polling: true });
    expect(lines().find((l) => l.msg === 'data path polling')).toMatchObject({
      from: 'none',
      to: 'polling',
      why: expect.stringContaining('REST polling'),
      feed: 'feed limited: 406 connection limit exceeded',
    });
  });
});
