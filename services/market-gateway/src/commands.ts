import { commands, type GatewayHeartbeat, type GatewayState } from '@vigil/contracts';
import {
  addCommandService,
  commandEndpoint,
  type Logger,
  type Metrics,
  type NatsConnection,
  type Service,
} from '@vigil/service-kit';

export interface GatewayCommandTarget {
  /** Drop the connection and resolve with the state once resubscribed, or after the timeout. */
  reconnect(reason: string): Promise<GatewayState>;
  status(): GatewayHeartbeat;
}

/**
 * `cmd.gateway.reconnect` and `cmd.gateway.status` as the NATS service `market-gateway`. A malformed
 * request gets `ok: false` with the validation problem, so the caller learns what it sent wrong.
 */
export function serveGatewayCommands(
  nc: NatsConnection,
  target: GatewayCommandTarget,
  logger: Logger,
  metrics: Metrics,
  version = '0.1.0',
): Promise<Service> {
  const log = logger.child({ component: 'commands' });
  const at = () => new Date().toISOString();
  return addCommandService({
    nc,
    name: 'market-gateway',
    version,
    description: 'Vigil market-gateway: reconnect the Alpaca feed, report its status',
    logger,
    metrics,
    endpoints: [
      commandEndpoint(commands.gatewayReconnect, {
        handle: async (req) => {
          log.warn(
            { requestedBy: req.requestedBy, reason: req.reason, incidentId: req.incidentId },
            'reconnect commanded',
          );
          const state = await target.reconnect(`${req.requestedBy}: ${req.reason}`);
          const ok = state === 'streaming';
          const error = ok ? undefined : `not streaming again yet: ${target.status().reason}`;
          return { v: 1, ok, at: at(), state, ...(error ? { error } : {}) };
        },
        invalid: (error) => ({ v: 1, ok: false, at: at(), error, state: target.status().state }),
      }),
      commandEndpoint(commands.gatewayStatus, {
        handle: async () => ({ v: 1, ok: true, at: at(), status: target.status() }),
        invalid: (error) => ({ v: 1, ok: false, at: at(), error, status: target.status() }),
      }),
    ],
  });
}
