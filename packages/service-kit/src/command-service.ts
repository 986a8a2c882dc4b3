import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import type { Msg, MsgCallback, SubscriptionOptions } from '@nats-io/transport-node';
import { decodeAs, encode, type CommandSpec } from '@vigil/contracts';
import type * as z from 'zod';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { NatsConnection } from './nats.js';

export type { Service };

/** How a service answers one command. */
export interface CommandHandler<C extends CommandSpec> {
  /** Act on a valid request and return the reply; its `ok` goes to the metric. Throwing answers a service error. */
  handle(request: z.output<C['request']>): Promise<z.input<C['reply']>>;
  /** The `ok: false` reply to a request that does not match the spec's schema; `error` says what is wrong with it. */
  invalid(error: string): z.input<C['reply']>;
}

export interface CommandEndpoint<C extends CommandSpec = CommandSpec> extends CommandHandler<C> {
  spec: C;
}

/** One endpoint of `addCommandService`, typed by its spec: `handle` gets the decoded request, returns the reply. */
export function commandEndpoint<C extends CommandSpec>(spec: C, handler: CommandHandler<C>): CommandEndpoint<C> {
  return { spec, handle: (request) => handler.handle(request), invalid: (error) => handler.invalid(error) };
}

export interface CommandServiceOptions {
  nc: NatsConnection;
  /** Service name as `nats micro ls` shows it. */
  name: string;
  version: string;
  description: string;
  endpoints: CommandEndpoint[];
  logger: Logger;
  metrics: Metrics;
}

/** Replies go to inboxes only: `_INBOX.<user>.<id>` (or nats.js's `_INBOX.<id>` on a connection without a user). */
export function isInboxReply(reply: string): boolean {
  return reply.startsWith('_INBOX.');
}

/**
 * Request/reply commands as a NATS service (`$SRV.PING|INFO|STATS`, so `nats micro ls` finds it), one
 * endpoint per spec, named by its subject's last token (`reconnect` for `cmd.gateway.reconnect`). Every
 * request is answered: a request that does not match the spec's schema with the endpoint's `invalid` reply
 * (logged and counted as an error), a valid one with `handle`'s reply, validated against the spec, or a
 * service error saying what failed.
 *
 * Except a request whose reply subject is not an inbox: it is dropped unanswered and not acted on. Its
 * requester chose where the answer goes, and this service's own NATS rights would carry it there: into the
 * service's own KV bucket, stream or published subjects (`$KV.executor_state.halt`, `md.bars.…`), which no
 * permission can tell from the service's own writes.
 */
export async function addCommandService(opts: CommandServiceOptions): Promise<Service> {
  const log = opts.logger.child({ component: 'commands' });
  const commands = opts.metrics.counter('commands_total', 'Commands received, by command and result', [
    'command',
    'result',
  ]);
  const refused = opts.metrics.counter(
    'command_requests_refused_total',
    'Requests dropped unanswered because their reply subject is not an inbox',
    ['subject'],
  );
  const nc = inboxRepliesOnly(opts.nc, (msg) => {
    refused.inc({ subject: msg.subject });
    log.warn(
      { subject: msg.subject, reply: msg.reply },
      'request dropped unanswered: its reply subject is not an inbox (_INBOX.…)',
    );
  });
  const service = await new Svcm(nc).add({ name: opts.name, version: opts.version, description: opts.description });
  for (const endpoint of opts.endpoints) {
    const command = endpoint.spec.subject.slice(endpoint.spec.subject.lastIndexOf('.') + 1);
    service.addEndpoint(command, {
      subject: endpoint.spec.subject,
      handler: (err, msg) => {
        if (err) {
          log.error({ err, command }, 'command endpoint failed');
          return;
        }
        void answer(endpoint, command, msg)
          .then(({ ok, bytes }) => {
            commands.inc({ command, result: ok ? 'ok' : 'error' });
            msg.respond(bytes);
          })
          .catch((e: unknown) => {
            commands.inc({ command, result: 'error' });
            log.error({ err: e, command }, 'command failed');
            msg.respondError(500, e instanceof Error ? e.message : String(e));
          });
      },
    });
  }

  /** Decode, act, and encode the reply (validated: a handler's bad reply is a service error, not a wrong answer). */
  async function answer(
    endpoint: CommandEndpoint,
    command: string,
    msg: ServiceMsg,
  ): Promise<{ ok: boolean; bytes: Uint8Array }> {
    const { spec } = endpoint;
    const request = decodeAs(spec.request, msg.subject, msg.data);
    if (!request.ok) {
      log.error({ err: request.error, command }, `${command} request refused: it does not match its schema`);
      return { ok: false, bytes: encode(spec.reply, endpoint.invalid(request.error.message)) };
    }
    const reply = await endpoint.handle(request.value);
    return { ok: reply.ok, bytes: encode(spec.reply, reply) };
  }

  // Once the server has the subscriptions, a request from any connection finds them: no "no responders" race.
  await opts.nc.flush();
  log.info(
    { id: service.info().id, subjects: opts.endpoints.map((e) => e.spec.subject) },
    `commands registered as NATS service "${opts.name}"`,
  );
  return service;
}

/**
 * `nc` for the NATS service framework: every subscription it makes (endpoints and `$SRV` control subjects)
 * passes on only messages without a reply subject or with an inbox as reply; `onRefused` hears of the rest.
 */
function inboxRepliesOnly(nc: NatsConnection, onRefused: (msg: Msg) => void): NatsConnection {
  const subscribe = (subject: string, subOpts: SubscriptionOptions = {}) => {
    const callback = subOpts.callback;
    if (!callback) return nc.subscribe(subject, subOpts);
    const guarded: MsgCallback<Msg> = (err, msg) => {
      if (!err && msg.reply && !isInboxReply(msg.reply)) return onRefused(msg);
      return callback(err, msg);
    };
    return nc.subscribe(subject, { ...subOpts, callback: guarded });
  };
  return new Proxy(nc, {
    get(target, prop) {
      if (prop === 'subscribe') return subscribe;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
