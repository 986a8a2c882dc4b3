import { setTimeout as sleep } from 'node:timers/promises';
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
  /**
   * Where replies to this connection's requests come (`<prefix>.<id>`): NATS_INBOX_PREFIX, else `_INBOX.<user>`
   * for a user, else nats.js's `_INBOX`. infra/nats/auth.conf lets each user subscribe to its own only.
   */
  inboxPrefix?: string | undefined;
  /** The CA file (PEM) the server's certificate is verified against (NATS_TLS_CA); TLS becomes required. */
  tlsCaFile?: string | undefined;
  logger: Logger;
  metrics: Metrics;
  readiness?: Readiness;
}

/**
 * The client's TLS: required when a URL is `tls://` or a CA file is given (nats.js ignores the scheme, and
 * would otherwise take a server offering no TLS), the server verified against the CA file or else the
 * system's CAs. Without either, nats.js still upgrades (and verifies) when the server requires TLS.
 */
export function natsTlsOptions(url: string, caFile?: string): { tls?: { caFile?: string } } {
  if (caFile) return { tls: { caFile } };
  return url.split(',').some((u) => /^\s*tls:\/\//i.test(u)) ? { tls: {} } : {};
}

/**
 * The inbox prefix of a connection: `override` (NATS_INBOX_PREFIX) if given, else `_INBOX.<user>` when logging
 * in as a user, else undefined (nats.js's `_INBOX`). Every Vigil user may subscribe to its own inboxes only,
 * and a responder answers only replies under `_INBOX.` (addCommandService).
 */
export function natsInboxPrefix(user?: string, override?: string): string | undefined {
  if (override) return override;
  if (!user) return undefined;
  if (!/^[^\s.*>]+(\.[^\s.*>]+)*$/.test(user)) {
    throw new NatsConnectError(
      `NATS user "${user}" cannot name an inbox (_INBOX.<user>): set NATS_INBOX_PREFIX to the prefix its permissions allow`,
    );
  }
  return `_INBOX.${user}`;
}

/**
 * The inbox prefix `nc` was connected with, where nats.js takes the replies to its requests; undefined means
 * nats.js's `_INBOX`. Read from the connection itself, so code taking replies of its own (the gateway's JetStream
 * acks) subscribes where this connection's user may, whoever connected it.
 */
export function inboxPrefixOf(nc: NatsConnection): string | undefined {
  return (nc as NatsConnection & { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
}

/**
 * Connect with unlimited reconnects, waiting for a server that is not up yet (and saying why it is not
 * reachable); a problem no retry fixes, such as a server certificate this client does not trust, fails at
 * once with a NatsConnectError saying what to change. Every status event is logged once and counted, and
 * readiness follows the connection, so a NATS outage is never silent.
 */
export async function connectNats(opts: NatsOptions): Promise<NatsConnection> {
  const log = opts.logger.child({ component: 'nats' });
  const inboxPrefix = natsInboxPrefix(opts.user, opts.inboxPrefix);
  const events = opts.metrics.counter('nats_status_events_total', 'NATS connection status events by type', ['type']);
  const connected = opts.metrics.gauge('nats_connected', '1 while connected to NATS');
  opts.readiness?.set('nats', false, 'connecting to NATS');
  let nc: NatsConnection | undefined;
  let waitingFor = '';
  while (!nc) {
    try {
      nc = await connect({
        servers: opts.url.split(','),
        name: opts.name,
        ...(opts.user ? { user: opts.user, pass: opts.pass ?? '' } : {}),
        ...(inboxPrefix ? { inboxPrefix } : {}),
        ...natsTlsOptions(opts.url, opts.tlsCaFile),
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        // The first connection is retried here rather than by nats.js, which would retry a TLS failure forever.
        waitOnFirstConnect: false,
        pingInterval: 10_000,
        maxPingOut: 3,
        // nats.js otherwise builds two Errors (stack traces) per request up front, in case it fails: most of the
        // client's CPU in a burst of JetStream publishes. A failed request still says what failed; we log the context.
        noAsyncTraces: true,
      });
    } catch (cause) {
      const err = cause as Error & { code?: string };
      const permanent = permanentProblem(err, opts.tlsCaFile);
      if (permanent) throw new NatsConnectError(`cannot connect to NATS at ${opts.url}: ${permanent}`, { cause });
      if (err.message !== waitingFor) log.warn({ err: err.message }, 'NATS not reachable yet; retrying every second');
      waitingFor = err.message;
      opts.readiness?.set('nats', false, `connecting to NATS: ${err.message}`);
      await sleep(1000);
    }
  }
  connected.set(1);
  opts.readiness?.set('nats', true);
  log.info({ server: nc.getServer() }, 'connected to NATS');
  void watchStatus(nc, log, events, connected, opts.readiness);
  return nc;
}

/** Errors of a server that is down or not yet reachable: retried. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** What to change when retrying cannot help (the server's certificate, TLS on one side only, the options), else nothing. */
function permanentProblem(err: Error & { code?: string }, caFile: string | undefined): string | undefined {
  const code = err.code ?? (err.cause as { code?: string } | undefined)?.code ?? '';
  if (NETWORK_CODES.has(code)) return undefined;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `${err.message}. Name the server in NATS_URL as its certificate does`;
  if (/CERT|SELF_SIGNED|UNABLE_TO_|ERR_SSL|ERR_OSSL/.test(code)) {
    const fix = caFile
      ? `NATS_TLS_CA (${caFile}) is not the CA that signed it`
      : 'set NATS_TLS_CA to the file of the CA that signed it';
    return `the server's TLS certificate is not trusted (${code}: ${err.message}); ${fix}`;
  }
  if (/\btls\b/i.test(err.message))
    return `${err.message}: NATS_URL is tls:// or NATS_TLS_CA is set, and the server offers no TLS`;
  if (/doesn't exist/.test(err.message)) return `${err.message} (NATS_TLS_CA)`;
  if (err.name === 'InvalidArgumentError' || err instanceof TypeError)
    return `${err.message}. Check NATS_URL and credentials.`;
  return undefined;
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
