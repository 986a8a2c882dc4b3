import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  decode,
  encode,
  GatewayReconnectReply,
  GatewayStatusReply,
  subjects,
  type GatewayHeartbeat,
  type GatewayReconnectRequest,
  type GatewayState,
} from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';

export interface GatewayCommandTarget {
  reconnect(reason: string): GatewayState;
  status(): GatewayHeartbeat;
}

/**
 * Answers `cmd.gateway.reconnect` and `cmd.gateway.status`. A malformed request gets `ok: false` with the
 * validation problem, so the caller learns what it sent wrong; nothing is thrown into the loop.
 */
export function serveGatewayCommands(nc: NatsConnection, target: GatewayCommandTarget, logger: Logger, metrics: Metrics): Subscription[] {
  const log = logger.child({ component: 'commands' });
  const handled = metrics.counter('gateway_commands_total', 'Commands answered by command and outcome', ['command', 'outcome']);
  const now = () => new Date().toISOString();

  const serve = (subject: string, handle: (m: Msg, value: unknown) => Uint8Array, invalid: (error: string) => Uint8Array) => {
    const sub = nc.subscribe(subject, { queue: 'market-gateway' });
    void (async () => {
      for await (const m of sub) {
        const decoded = decode(m.subject, m.data);
        if (!decoded.ok) {
          handled.inc({ command: subject, outcome: 'invalid' });
          log.warn({ err: decoded.error }, 'invalid command request');
          m.respond(invalid(decoded.error.message));
          continue;
        }
        try {
          m.respond(handle(m, decoded.value));
          handled.inc({ command: subject, outcome: 'ok' });
        } catch (err) {
          handled.inc({ command: subject, outcome: 'error' });
          log.error({ err, subject }, 'command failed');
          m.respond(invalid(`command failed: ${(err as Error).message}`));
        }
      }
    })();
    return sub;
  };

  return [
    serve(
      subjects.gatewayReconnect,
      (_m, value) => {
        const req = value as GatewayReconnectRequest;
        log.warn({ requestedBy: req.requestedBy, reason: req.reason, incidentId: req.incidentId }, 'reconnect commanded');
        const state = target.reconnect(`${req.requestedBy}: ${req.reason}`);
        return encode(GatewayReconnectReply, { v: 1, ok: true, at: now(), state });
      },
      (error) => encode(GatewayReconnectReply, { v: 1, ok: false, at: now(), error, state: target.status().state }),
    ),
    serve(
      subjects.gatewayStatus,
      () => encode(GatewayStatusReply, { v: 1, ok: true, at: now(), status: target.status() }),
      (error) => encode(GatewayStatusReply, { v: 1, ok: false, at: now(), error, status: target.status() }),
    ),
  ];
}
