import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { NatsConnection } from './nats.js';

export type { Service, ServiceMsg };

export interface CommandEndpoint {
  /** Last subject token: `reconnect` in `cmd.gateway.reconnect`. */
  name: string;
  /** Decode, act, and return the encoded reply; `ok` is for the metric. Throwing answers a service error. */
  handle: (msg: ServiceMsg) => Promise<{ ok: boolean; bytes: Uint8Array }>;
}

export interface CommandServiceOptions {
  nc: NatsConnection;
  /** Service name as `nats micro ls` shows it. */
  name: string;
  version: string;
  description: string;
  /** Subject prefix of the endpoints, e.g. `cmd.gateway`. */
  group: string;
  endpoints: CommandEndpoint[];
  logger: Logger;
  metrics: Metrics;
}

/**
 * Request/reply commands as a NATS service (`$SRV.PING|INFO|STATS`, so `nats micro ls` finds it).
 * Every request is answered: the endpoint's reply, or a service error saying what failed.
 */
export async function addCommandService(opts: CommandServiceOptions): Promise<Service> {
  const log = opts.logger.child({ component: 'commands' });
  const commands = opts.metrics.counter('commands_total', 'Commands received, by command and result', ['command', 'result']);
  const service = await new Svcm(opts.nc).add({ name: opts.name, version: opts.version, description: opts.description });
  const group = service.addGroup(opts.group);
  for (const endpoint of opts.endpoints) {
    group.addEndpoint(endpoint.name, (err, msg) => {
      if (err) {
        log.error({ err, command: endpoint.name }, 'command endpoint failed');
        return;
      }
      void endpoint
        .handle(msg)
        .then(({ ok, bytes }) => {
          commands.inc({ command: endpoint.name, result: ok ? 'ok' : 'error' });
          msg.respond(bytes);
        })
        .catch((e: unknown) => {
          commands.inc({ command: endpoint.name, result: 'error' });
          log.error({ err: e, command: endpoint.name }, 'command failed');
          msg.respondError(500, e instanceof Error ? e.message : String(e));
        });
    });
  }
  log.info({ id: service.info().id, group: opts.group }, `commands registered as NATS service "${opts.name}"`);
  return service;
}
