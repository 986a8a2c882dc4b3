import type { GatewayState } from '@vigil/contracts';
import type { Counter, Histogram, Metrics } from '@vigil/service-kit';

export interface FeedMetrics {
  transitions: Counter<'state'>;
  reconnects: Counter<'cause'>;
  messages: Counter<'type'>;
  invalid: Counter<string>;
  authResends: Counter<string>;
  resubscribes: Counter<string>;
  alpacaErrors: Counter<'code'>;
  detection: Histogram<'cause'>;
}

/** The feed supervisor's metrics: every state change, reconnect, resend and Alpaca error is counted. */
export function feedMetrics(mt: Metrics, currentState: () => GatewayState): FeedMetrics {
  mt.gauge('gateway_state', '1 for the current feed state', ['state'], function () {
    this.reset();
    this.set({ state: currentState() }, 1);
  });
  return {
    transitions: mt.counter('gateway_state_changes_total', 'Feed state changes by new state', ['state']),
    reconnects: mt.counter('gateway_reconnects_total', 'Connections ended (each followed by a reconnect), by cause', [
      'cause',
    ]),
    messages: mt.counter('gateway_stream_messages_total', 'Stream messages by type', ['type']),
    invalid: mt.counter('gateway_invalid_stream_messages_total', 'Stream messages that failed validation'),
    authResends: mt.counter('gateway_auth_resends_total', 'Auth messages sent again after no reply'),
    resubscribes: mt.counter(
      'gateway_resubscribes_total',
      'Resubscriptions after an incomplete or missing subscription ack',
    ),
    alpacaErrors: mt.counter('gateway_alpaca_errors_total', 'Error messages from Alpaca by code', ['code']),
    detection: mt.histogram(
      'gateway_detection_seconds',
      'Silence before a dead transport or a stale stream was detected, by cause',
      [0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120],
      ['cause'],
    ),
  };
}
