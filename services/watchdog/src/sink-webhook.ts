import { postJson } from './sink-http.js';
import { alertText, type AlertSink } from './sinks.js';

/**
 * The generic webhook: POSTs `{ text, alert }`, `alert` being the `Alert` message as on NATS. `text` is the
 * one-line summary, kept because receivers set up before the Slack sink existed show it.
 */
export function webhookSink(url: string, timeoutMs: number): AlertSink {
  return {
    name: 'webhook',
    deliver: (alert, signal) => postJson('webhook', url, { text: alertText(alert), alert }, timeoutMs, signal),
  };
}
