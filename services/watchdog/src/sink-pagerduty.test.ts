import type { Alert } from '@vigil/contracts';
import { Metrics } from '@vigil/service-kit';
import { captureLogger } from '@vigil/service-kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type Answer, httpReceiver } from '../test/http-receiver.js';
import { pagerDutyEvent, pagerDutySink } from './sink-pagerduty.js';
import { SinkQueue } from './sinks.js';
import { testAlert } from '../test/alert-fixture.js';

/** The Events API v2 shapes as PagerDuty documents them: a trigger carries a payload, a resolve only the key. */
const Trigger = z.strictObject({
  routing_key: z.string().min(1),
  event_action: z.literal('trigger'),
  dedup_key: z.string().min(1).max(255),
  payload: z.strictObject({
    summary: z.string().min(1).max(1024),
    source: z.string().min(1),
    severity: z.enum(['critical', 'error', 'warning', 'info']),
    timestamp: z.iso.datetime(),
    component: z.string(),
    group: z.string(),
    class: z.string(),
    custom_details: z.record(z.string(), z.unknown()),
  }),
});
const Resolve = z.strictObject({
  routing_key: z.string().min(1),
  event_action: z.literal('resolve'),
  dedup_key: z.string().min(1).max(255),
});

const KEY = 'R0UTING-KEY-0123456789abcdef01234';

const alert = (over: Partial<Alert> = {}): Alert =>
  testAlert({
    incidentId: 'stale-2026-12-02T14:31:00.000Z',
    at: '2026-12-02T14:32:00.000Z',
    details: { symbols: ['SPY'] },
    ...over,
  });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function pagerDuty(answer: (n: number) => Answer, attempts = 3) {
  const rx = await httpReceiver(answer);
  cleanups.push(rx.close);
  // No secrets given to the logger: the sink itself must never log the key or the URL.
  const log = captureLogger();
  const metrics = new Metrics('t', { defaultMetrics: false });
  const sink = pagerDutySink({ routingKey: KEY, eventsUrl: rx.url, source: 'vigil-watchdog test', timeoutMs: 2000 });
  const q = new SinkQueue(sink, {
    logger: log.logger,
    metrics,
    attempts,
    backoffMs: 10,
    minIntervalMs: 0,
    maxQueue: 50,
  });
  return { rx, log, metrics, q };
}

describe('pagerDutyEvent', () => {
  it('pages warnings and criticals, resolves incidents, and leaves info notices alone', () => {
    expect(pagerDutyEvent(alert({ kind: 'reconnect', severity: 'info', status: 'info' }), KEY, 's')).toBeNull();
    expect(pagerDutyEvent(alert({ status: 'resolved', severity: 'info', incidentId: null }), KEY, 's')).toBeNull();
    const flap = alert({ kind: 'flap', severity: 'warning', status: 'info', incidentId: null });
    expect(pagerDutyEvent(flap, KEY, 's')).toMatchObject({
      event_action: 'trigger',
      dedup_key: flap.id,
      payload: { severity: 'warning', class: 'flap', component: 'watchdog', custom_details: flap },
    });
    expect(
      pagerDutyEvent(alert({ kind: 'service_down', details: { service: 'executor' } }), KEY, 's')?.payload,
    ).toMatchObject({ component: 'executor' });
  });
});

describe('PagerDuty sink', () => {
  it('triggers when an incident opens and escalates, then resolves it with the same dedup_key', async () => {
    const { rx, q, log } = await pagerDuty(() => 202);
    const open = alert();
    q.push(open);
    q.push(alert({ kind: 'stale_halt', message: 'halting new orders: data stale for 5.0 min' }));
    q.push(alert({ kind: 'reconnect', severity: 'info', status: 'info' })); // not a page
    q.push(alert({ kind: 'resumed', severity: 'info', status: 'resolved', durationMs: 400_000 }));
    await q.idle();

    expect(rx.bodies).toHaveLength(3);
    const [first, escalated, resolved] = rx.bodies;
    const trigger = Trigger.parse(first);
    expect(trigger).toMatchObject({
      routing_key: KEY,
      dedup_key: open.incidentId,
      payload: {
        summary:
          '[CRITICAL] no_bar (open): no bar for 2.0 min while the market is open [incident stale-2026-12-02T14:31:00.000Z]',
        source: 'vigil-watchdog test',
        severity: 'critical',
        timestamp: open.at,
        class: 'no_bar',
        custom_details: open,
      },
    });
    expect(Trigger.parse(escalated).dedup_key).toBe(open.incidentId);
    expect(Resolve.parse(resolved)).toEqual({ routing_key: KEY, event_action: 'resolve', dedup_key: open.incidentId });
    expect(log.text()).not.toContain(KEY);
    expect(log.text()).not.toContain('SECRET-PART');
  });

  it('gives up at once on a 400 (the event is invalid), logged once and counted, without the key', async () => {
    const { rx, q, log, metrics } = await pagerDuty(() => 400);
    q.push(alert());
    await q.idle();
    expect(rx.requests()).toBe(1);
    const giveUps = log.lines().filter((l) => l.msg === 'alert delivery failed; giving up on this alert');
    expect(giveUps).toHaveLength(1);
    expect(giveUps[0]).toMatchObject({ err: { message: expect.stringContaining('HTTP 400; not retried') } });
    expect(await metrics.registry.metrics()).toMatch(
      /vigil_watchdog_sink_deliveries_total\{sink="pagerduty",outcome="failed",service="t"\} 1/,
    );
    expect(log.text()).not.toContain(KEY);
  });

  it('retries a 429 no sooner than its Retry-After, and a 502', async () => {
    const { rx, q } = await pagerDuty((n) =>
      n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : n === 2 ? 502 : 202,
    );
    q.push(alert());
    await q.idle();
    expect(rx.requests()).toBe(3);
    expect(rx.bodies).toHaveLength(1);
    expect(rx.arrivals[1]! - rx.arrivals[0]!).toBeGreaterThanOrEqual(950);
  });
});
