import { jetstreamManager } from '@nats-io/jetstream';
import { Alert, alertSubject, decodeAs, streams } from '@vigil/contracts';
import { waitFor } from '@vigil/service-kit/testing';
import { describe, expect, it } from 'vitest';
import { httpReceiver } from './http-receiver.js';
import { alertCollector, fakeBroker, fakeGateway, natsSuite, runWatchdog } from './harness.js';

const suite = natsSuite();
const later = suite.later;

const ROUTING_KEY = 'PDKEY-never-logged-0123456789abcd';

describe('alert sinks in the watchdog', () => {
  it('PagerDuty failing: one sink_failing through Slack, NATS, ALERTS and the log, resolved when it delivers again', async () => {
    let pagerDutyUp = false;
    const pagerDuty = later(await httpReceiver(() => (pagerDutyUp ? 202 : 503)));
    const slack = later(await httpReceiver(() => 200));
    const collector = later(await alertCollector(suite.server.url));
    const gateway = later(await fakeGateway(suite.server.url));
    const wd = later(
      await runWatchdog(suite.server.url, fakeBroker('open').source, {
        PAGERDUTY_ROUTING_KEY: ROUTING_KEY,
        PAGERDUTY_EVENTS_URL: pagerDuty.url,
        SLACK_WEBHOOK_URL: slack.url,
        SINK_FAILING_AFTER_FAILURES: '2',
        FLATTEN_POLICY: 'off',
      }),
    );
    await waitFor('bars seen', () => wd.watchdog.status().barsPerMinute > 2);

    // The gateway dies: gateway_down and no_bar page, and PagerDuty answers 503 to both.
    gateway.heartbeats = false;
    gateway.bars = false;
    gateway.reconnectReplies('absent');
    const failing = await waitFor('sink_failing', () => collector.of('sink_failing', 'open')[0], { timeoutMs: 15_000 });
    expect(failing).toMatchObject({ severity: 'warning', details: { sink: 'pagerduty', failures: 2 } });
    const slackGot = (kind: string, status: string) =>
      slack.bodies.find((b) => (b as { text: string }).text.includes(`] ${kind} (${status})`));
    await waitFor('sink_failing on Slack', () => slackGot('sink_failing', 'open'));

    // PagerDuty is back: the gateway's return resolves gateway_down there, and with it sink_failing.
    pagerDutyUp = true;
    gateway.reconnectReplies('ok');
    gateway.heartbeats = true;
    gateway.bars = true;
    const resolved = await waitFor('sink_failing resolved', () => collector.of('sink_failing', 'resolved')[0], {
      timeoutMs: 15_000,
    });
    expect(resolved.incidentId).toBe(failing.incidentId);
    await waitFor('resolve on Slack', () => slackGot('sink_failing', 'resolved'));
    await wd.watchdog.idle();

    expect(collector.of('sink_failing')).toHaveLength(2);
    // PagerDuty never got its own sink_failing (it went through the others).
    expect(pagerDuty.bodies.some((b) => JSON.stringify(b).includes('sink_failing'))).toBe(false);
    const jsm = await jetstreamManager(wd.nc);
    const stored = await jsm.streams.getMessage(streams.alerts.name, { last_by_subj: alertSubject('sink_failing') });
    const last = decodeAs(Alert, stored!.subject, stored!.data);
    expect(last.ok && last.value).toMatchObject({ id: resolved.id, status: 'resolved' });
    expect(wd.log.lines().filter((l) => String(l.msg).startsWith('alert sink_failing:'))).toHaveLength(2);
    // The key and the Slack URL are in no log line (the harness's logger is not told about them).
    expect(wd.log.text()).not.toContain(ROUTING_KEY);
    expect(wd.log.text()).not.toContain('SECRET-PART');
  });
});
