import {
  decodeAs,
  encode,
  GatewayReconnectReply,
  GatewayReconnectRequest,
  GatewayStatusReply,
  GatewayStatusRequest,
  subjects,
  type GatewayHeartbeat,
  type GatewayState,
} from '@vigil/contracts';
import { addCommandService, type Logger, type Metrics, type NatsConnection, type Service } from '@vigil/service-kit';

export interface GatewayCommandTarget {
  /** Drop the connection and resolve with the state once resubscribed, or after the timeout. */
  reconnect(reason: string): Promise<GatewayState>;
  status(): GatewayHeartbeat;
}

/**
 * `cmd.gateway.reconnect` and `cmd.gateway.status` as the NATS service `market-gateway`. A malformed
 * request gets `ok: false` with the validation problem, so the caller learns what it sent wrong.
 */
export function serveGatewayCommands(nc: NatsConnection, target: GatewayCommandTarget, logger: Logger, metrics: Metrics, version = '0.1.0'): Promise<Service> {
  const log = logger.child({ component: 'commands' });
  const at = () => new Date().toISOString();
  return addCommandService({
    nc,
    name: 'market-gateway',
    version,
    description: 'Vigil market-gateway: reconnect the Alpaca feed, report its status',
    group: subjects.gatewayReconnect.slice(0, subjects.gatewayReconnect.lastIndexOf('.')),
    logger,
    metrics,
    endpoints: [
      {
        name: 'reconnect',
        handle: async (msg) => {
          const req = decodeAs(GatewayReconnectRequest, msg.subject, msg.data);
          if (!req.ok) return { ok: false, bytes: encode(GatewayReconnectReply, { v: 1, ok: false, at: at(), error: req.error.message, state: target.status().state }) };
          log.warn({ requestedBy: req.value.requestedBy, reason: req.value.reason, incidentId: req.value.incidentId }, 'reconnect commanded');
          const state = await target.reconnect(`${req.value.requestedBy}: ${req.value.reason}`);
          const ok = state === 'streaming';
          const error = ok ? undefined : `not streaming again yet: ${target.status().reason}`;
          return { ok, bytes: encode(GatewayReconnectReply, { v: 1, ok, at: at(), state, ...(error ? { error } : {}) }) };
        },
      },
      {
        name: 'status',
        handle: async (msg) => {
          const req = decodeAs(GatewayStatusRequest, msg.subject, msg.data);
          if (!req.ok) return { ok: false, bytes: encode(GatewayStatusReply, { v: 1, ok: false, at: at(), error: req.error.message, status: target.status() }) };
          return { ok: true, bytes: encode(GatewayStatusReply, { v: 1, ok: true, at: at(), status: target.status() }) };
        },
      },
    ],
  });
}
