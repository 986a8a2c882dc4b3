import type { Alert } from '@vigil/contracts';
import { postJson } from './sink-http.js';
import { alertText, type AlertSink } from './sinks.js';

/** PagerDuty's limit on `payload.summary`. */
const SUMMARY_MAX = 1024;

/** An Events API v2 event (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/). */
export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: 'critical' | 'warning' | 'info';
    timestamp: string;
    component: string;
    group: string;
    class: string;
    custom_details: Alert;
  };
}

/**
 * The event for an alert, or null when PagerDuty should not see it. An incident's alerts share its id as
 * `dedup_key`: its opening and escalations trigger (PagerDuty keeps one incident), its resolve resolves it.
 * Warnings and criticals without an incident trigger with the alert id as `dedup_key` (a person resolves
 * them). Info notices (reconnects) never page: nothing would resolve them.
 */
export function pagerDutyEvent(alert: Alert, routingKey: string, source: string): PagerDutyEvent | null {
  if (alert.status === 'resolved')
    return alert.incidentId ? { routing_key: routingKey, event_action: 'resolve', dedup_key: alert.incidentId } : null;
  if (alert.severity === 'info') return null;
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: alert.incidentId ?? alert.id,
    payload: {
      summary: alertText(alert).slice(0, SUMMARY_MAX),
      source,
      severity: alert.severity,
      timestamp: alert.at,
      // The service an alert is about when it names one (service_down, consumer_lag), else the watchdog's own.
      component: typeof alert.details.service === 'string' ? alert.details.service : 'watchdog',
      group: 'vigil',
      class: alert.kind,
      custom_details: alert,
    },
  };
}

export interface PagerDutySinkOptions {
  /** The integration's routing key: a secret, never logged. */
  routingKey: string;
  eventsUrl: string;
  /** `payload.source`: which watchdog raised it. */
  source: string;
  timeoutMs: number;
}

/** PagerDuty Events API v2. A 400 (invalid event) is permanent; 429 and 5xx are retried, after any Retry-After. */
export function pagerDutySink(opts: PagerDutySinkOptions): AlertSink {
  return {
    name: 'pagerduty',
    accepts: (alert) => pagerDutyEvent(alert, opts.routingKey, opts.source) !== null,
    async deliver(alert, signal) {
      const event = pagerDutyEvent(alert, opts.routingKey, opts.source);
      if (event) await postJson('pagerduty', opts.eventsUrl, event, opts.timeoutMs, signal);
    },
  };
}
