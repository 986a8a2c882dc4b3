import type { Alert } from '@vigil/contracts';
import { Metrics } from '@vigil/service-kit';
import { captureLogger } from '@vigil/service-kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { httpReceiver } from '../test/http-receiver.js';
import { slackMessage, slackSink } from './sink-slack.js';
import { alertText, SinkQueue } from './sinks.js';
import { testAlert } from '../test/alert-fixture.js';

/** Slack's incoming-webhook message as documented: `text` (the notification fallback) and Block Kit blocks. */
const Text = z.strictObject({
  type: z.enum(['plain_text', 'mrkdwn']),
  text: z.string().min(1),
  emoji: z.boolean().optional(),
});
const Block = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('header'),
    text: Text.extend({ type: z.literal('plain_text'), text: z.string().max(150) }),
  }),
  z.strictObject({
    type: z.literal('section'),
    text: Text.extend({ text: z.string().max(3000) }).optional(),
    fields: z
      .array(Text.extend({ text: z.string().max(2000) }))
      .max(10)
      .optional(),
  }),
]);
const SlackMessage = z.strictObject({ text: z.string().min(1), blocks: z.array(Block).min(1).max(50) });

const alert = (over: Partial<Alert> = {}): Alert =>
  testAlert({
    kind: 'position_unmanaged',
    incidentId: 'unmanaged-2026-12-02T14:31:00.000Z',
    message: 'SPY held (10) with no decision for 3.0 min <@here> & more',
    at: '2026-12-02T14:32:00.000Z',
    details: { symbols: { SPY: { qty: 10 } } },
    ...over,
  });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('Slack sink', () => {
  it('posts a header and sections per alert with the text fallback, never logging the webhook URL', async () => {
    const rx = await httpReceiver(() => 200);
    cleanups.push(rx.close);
    const log = captureLogger(); // no secrets given: the sink itself must not log the URL
    const q = new SinkQueue(slackSink(rx.url, 2000), {
      logger: log.logger,
      metrics: new Metrics('t', { defaultMetrics: false }),
      attempts: 2,
      backoffMs: 10,
      minIntervalMs: 0,
      maxQueue: 10,
    });
    const a = alert();
    const resolved = alert({
      status: 'resolved',
      severity: 'info',
      message: 'every held symbol decided',
      durationMs: 95_000,
      details: {},
    });
    q.push(a);
    q.push(resolved);
    await q.idle();

    expect(rx.bodies).toHaveLength(2);
    const msg = SlackMessage.parse(rx.bodies[0]);
    expect(msg.text).toBe(alertText(a));
    expect(msg.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: ':rotating_light: position_unmanaged (open)', emoji: true },
    });
    // The message is escaped: `<@here>` must not become a mention.
    expect(msg.blocks[1]).toMatchObject({
      text: { text: 'SPY held (10) with no decision for 3.0 min &lt;@here&gt; &amp; more' },
    });
    const fields = (msg.blocks[2] as { fields: { text: string }[] }).fields.map((f) => f.text);
    expect(fields).toEqual([
      '*Severity*\ncritical',
      '*Kind*\nposition_unmanaged',
      `*Incident*\n${a.incidentId}`,
      `*At*\n${a.at}`,
    ]);
    expect(msg.blocks[3]).toMatchObject({ text: { text: expect.stringContaining('"qty": 10') } });

    const back = SlackMessage.parse(rx.bodies[1]);
    expect(back.blocks[0]).toMatchObject({ text: { text: ':information_source: position_unmanaged (resolved)' } });
    expect(back.blocks).toHaveLength(3); // no details block for empty details
    expect((back.blocks[2] as { fields: { text: string }[] }).fields.at(-1)).toEqual({
      type: 'mrkdwn',
      text: '*Duration*\n95 s',
    });
    expect(log.text()).not.toContain('SECRET-PART');
    expect(log.text()).not.toContain(rx.url);
  });

  it('keeps every block within Slack limits for a huge alert', () => {
    const big = alert({ message: 'x'.repeat(5000), kind: 'command_failed', details: { blob: 'y'.repeat(5000) } });
    const msg = SlackMessage.parse(slackMessage(big));
    expect(JSON.stringify(msg.blocks[3])).toContain('```');
  });
});
