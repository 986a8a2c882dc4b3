import type { Alert } from '@vigil/contracts';
import { postJson } from './sink-http.js';
import { alertText, type AlertSink } from './sinks.js';

/** Slack's limits: a header's text, and a section's text. */
const HEADER_MAX = 150;
const SECTION_MAX = 3000;

const ICON: Record<Alert['severity'], string> = {
  critical: ':rotating_light:',
  warning: ':warning:',
  info: ':information_source:',
};

/** Slack reads `&`, `<` and `>` in mrkdwn as markup: an alert's text must not become a link or a mention. */
const mrkdwn = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

/**
 * An incoming-webhook message for an alert: a header (severity, kind, status), the message, a section of
 * fields (severity, kind, incident, when) and the details as JSON. `text` is what notifications show.
 */
export function slackMessage(alert: Alert): SlackMessage {
  const status = alert.status === 'info' ? '' : ` (${alert.status})`;
  const fields = [
    `*Severity*\n${alert.severity}`,
    `*Kind*\n${alert.kind}`,
    `*Incident*\n${alert.incidentId ? mrkdwn(alert.incidentId) : '–'}`,
    `*At*\n${alert.at}`,
    ...(alert.durationMs === null ? [] : [`*Duration*\n${Math.round(alert.durationMs / 1000)} s`]),
  ];
  const details = JSON.stringify(alert.details, null, 2);
  return {
    text: alertText(alert),
    blocks: [
      {
        type: 'header',
        text: {
          type: 'plain_text',
          text: clip(`${ICON[alert.severity]} ${alert.kind}${status}`, HEADER_MAX),
          emoji: true,
        },
      },
      { type: 'section', text: { type: 'mrkdwn', text: clip(mrkdwn(alert.message), SECTION_MAX) } },
      { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
      ...(details === '{}'
        ? []
        : [
            {
              type: 'section',
              text: { type: 'mrkdwn', text: `\`\`\`${clip(mrkdwn(details), SECTION_MAX - 6)}\`\`\`` },
            },
          ]),
    ],
  };
}

/** A Slack incoming webhook. The URL is its credential: a secret, never logged. */
export function slackSink(url: string, timeoutMs: number): AlertSink {
  return {
    name: 'slack',
    deliver: (alert, signal) => postJson('slack', url, slackMessage(alert), timeoutMs, signal),
  };
}
