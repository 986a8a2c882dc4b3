import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsConnectError } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';

export type { NatsConnection };

export interface NatsOptions {
  url: string;
  /** Shown in the server's /connz: one name per service instance. */
  name: string;
  user?: string | undefined;
  pass?: string | undefined;
  logger: Logger;
  metrics: Metrics;
  readiness?: Readiness;
}

/**
 * Connect with unlimited reconnects, waiting for a server that is not up yet. Every status event is
 * logged once and counted, and readiness follows the connection, so a NATS outage is never silent.
 */
export async function connectNats(opts: NatsOptions): Promise<NatsConnection> {
  const log = opts.logger.child({ component: 'nats' });
  const events = opts.metrics.counter('nats_status_events_total', 'NATS connection status events by type', ['type']);
  const connected = opts.metrics.gauge('nats_connected', '1 while connected to NATS');
  opts.readiness?.set('nats', false, 'connecting to NATS');
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: opts.url.split(','),
      name: opts.name,
      ...(opts.user ? { user: opts.user, pass: opts.pass ?? '' } : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      waitOnFirstConnect: true,
      pingInterval: 10_000,
      maxPingOut: 3,
    });
  } catch (cause) {
    throw new NatsConnectError(`cannot connect to NATS at ${opts.url}: ${(cause as Error).message}. Check NATS_URL and credentials.`, { cause });
  }
  connected.set(1);
  opts.readiness?.set('nats', true);
  log.info({ server: nc.getServer() }, 'connected to NATS');
  void watchStatus(nc, log, events, connected, opts.readiness);
  return nc;
}

async function watchStatus(
  nc: NatsConnection,
  log: Logger,
  events: ReturnType<Metrics['counter']>,
  connected: ReturnType<Metrics['gauge']>,
  readiness?: Readiness,
): Promise<void> {
  for await (const s of nc.status()) {
    // Routine pings are not news; anything else is a state change worth a line.
    if (s.type === 'ping') continue;
    events.inc({ type: s.type });
    switch (s.type) {
      case 'disconnect':
        connected.set(0);
        readiness?.set('nats', false, `disconnected from NATS ${s.server}`);
        log.warn({ server: s.server }, 'NATS disconnected; reconnecting');
        break;
      case 'reconnect':
        connected.set(1);
        readiness?.set('nats', true);
        log.info({ server: s.server }, 'NATS reconnected');
        break;
      case 'reconnecting':
        log.debug('NATS reconnect attempt');
        break;
      case 'staleConnection':
        log.warn('NATS connection stale (pings unanswered); forcing reconnect');
        break;
      case 'error':
        log.error({ err: s.error }, 'NATS async error');
        break;
      case 'ldm':
        log.warn('NATS server entering lame-duck mode; will move to another server');
        break;
      case 'close':
        connected.set(0);
        readiness?.set('nats', false, 'NATS connection closed');
        log.info('NATS connection closed');
        break;
      default:
        log.info({ status: s }, `NATS status ${s.type}`);
    }
  }
}
