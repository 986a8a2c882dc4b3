import { ServiceError } from '@nats-io/services';
import type { Msg } from '@nats-io/transport-node';
import {
  decodeAs,
  encode,
  isNoResponders,
  isTimeout,
  type CommandReply,
  type CommandRequest,
  type CommandSpec,
} from '@vigil/contracts';
import type { NatsConnection } from './nats.js';

/** A command request that got no usable reply. Subclasses say why; this class itself is any other failure. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    /** The command's subject, e.g. `cmd.executor.halt`. */
    readonly subject: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** No reply in time: the service may be busy or stuck, or may have acted without answering. */
export class CommandTimeout extends CommandError {
  override name = 'CommandTimeout';
}

/** Nobody listens on the subject: the service is down or restarting, and nobody received the request. */
export class CommandNoResponders extends CommandError {
  override name = 'CommandNoResponders';
}

/** The reply does not match the spec's reply schema: the service runs another contract version, or has a bug. */
export class CommandBadReply extends CommandError {
  override name = 'CommandBadReply';
}

/** The service answered with a NATS service error (its handler threw) instead of a reply. */
export class CommandServiceError extends CommandError {
  override name = 'CommandServiceError';
  constructor(
    subject: string,
    /** The service error code, e.g. 500. */
    readonly code: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(subject, message, options);
  }
}

export interface RequestCommandOptions {
  timeoutMs: number;
}

/**
 * Send one command and return its validated reply, `ok: false` included: a refusal is an answer, for the
 * caller to act on. Anything else throws a `CommandError` (the request is never retried here; see `retry()`).
 * An invalid request is refused before sending, with the `ContractError` from `encode`.
 */
export async function requestCommand<C extends CommandSpec>(
  nc: NatsConnection,
  spec: C,
  request: CommandRequest<C>,
  opts: RequestCommandOptions,
): Promise<CommandReply<C>> {
  const { subject } = spec;
  const payload = encode(spec.request, request);
  let msg: Msg;
  try {
    msg = await nc.request(subject, payload, { timeout: opts.timeoutMs });
  } catch (cause) {
    if (isNoResponders(cause)) throw new CommandNoResponders(subject, `nobody answers ${subject}`, { cause });
    if (isTimeout(cause))
      throw new CommandTimeout(subject, `no reply on ${subject} within ${opts.timeoutMs} ms`, { cause });
    throw new CommandError(subject, `request on ${subject} failed: ${(cause as Error).message}`, { cause });
  }
  const serviceError = ServiceError.toServiceError(msg);
  if (serviceError) {
    throw new CommandServiceError(
      subject,
      serviceError.code,
      `${subject} failed in the service (${serviceError.code}): ${serviceError.message}`,
      { cause: serviceError },
    );
  }
  const reply = decodeAs<C['reply']>(spec.reply, subject, msg.data, 'reply');
  if (!reply.ok) throw new CommandBadReply(subject, reply.error.message, { cause: reply.error });
  return reply.value;
}
