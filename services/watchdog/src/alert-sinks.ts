import type { WatchdogConfig } from './config.js';
import { pagerDutySink } from './sink-pagerduty.js';
import { slackSink } from './sink-slack.js';
import { webhookSink } from './sink-webhook.js';
import { commandSink, type AlertSink } from './sinks.js';

/** Every sink the config turns on, each by its own setting; any number of them at once. */
export function configuredSinks(config: WatchdogConfig, source: string): AlertSink[] {
  const timeoutMs = config.ALERT_SINK_TIMEOUT_MS;
  return [
    ...(config.PAGERDUTY_ROUTING_KEY
      ? [
          pagerDutySink({
            routingKey: config.PAGERDUTY_ROUTING_KEY,
            eventsUrl: config.PAGERDUTY_EVENTS_URL,
            source,
            timeoutMs,
          }),
        ]
      : []),
    ...(config.SLACK_WEBHOOK_URL ? [slackSink(config.SLACK_WEBHOOK_URL, timeoutMs)] : []),
    ...(config.ALERT_WEBHOOK_URL ? [webhookSink(config.ALERT_WEBHOOK_URL, timeoutMs)] : []),
    ...(config.ALERT_COMMAND ? [commandSink(config.ALERT_COMMAND, timeoutMs)] : []),
  ];
}
