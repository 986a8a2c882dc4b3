import type * as z from 'zod';
import {
  ExecutorFlattenReply,
  ExecutorFlattenRequest,
  ExecutorHaltReply,
  ExecutorHaltRequest,
  ExecutorResumeReply,
  ExecutorResumeRequest,
  GatewayReconnectReply,
  GatewayReconnectRequest,
  GatewayStatusReply,
  GatewayStatusRequest,
} from './messages/commands.js';
import type { SCHEMA_VERSION } from './primitives.js';

/**
 * What every command reply says, whatever else it carries: its schema version, whether it worked, and if not,
 * why. (`v` here also keeps a handler's `v: 1` a literal where TypeScript infers the reply type.)
 */
export interface CommandReplyStatus {
  v: typeof SCHEMA_VERSION;
  ok: boolean;
  error?: string | undefined;
}

/**
 * A request/reply command: the subject it is asked on and the schemas of its request and reply. The server
 * (`addCommandService`) and the client (`requestCommand`) both take it from here, so they cannot drift apart.
 */
export interface CommandSpec<
  Req extends z.ZodType = z.ZodType,
  Rep extends z.ZodType<CommandReplyStatus, CommandReplyStatus> = z.ZodType<CommandReplyStatus, CommandReplyStatus>,
> {
  readonly subject: string;
  readonly request: Req;
  readonly reply: Rep;
}

/** What a client sends (defaults not yet applied: a request without `by` is a person's). */
export type CommandRequest<C extends CommandSpec> = z.input<C['request']>;
/** What a client gets back, validated. */
export type CommandReply<C extends CommandSpec> = z.output<C['reply']>;

/** Every command Vigil's services answer. Replies travel on the requester's inbox. */
export const commands = {
  gatewayReconnect: {
    subject: 'cmd.gateway.reconnect',
    request: GatewayReconnectRequest,
    reply: GatewayReconnectReply,
  },
  gatewayStatus: { subject: 'cmd.gateway.status', request: GatewayStatusRequest, reply: GatewayStatusReply },
  executorFlatten: { subject: 'cmd.executor.flatten', request: ExecutorFlattenRequest, reply: ExecutorFlattenReply },
  executorHalt: { subject: 'cmd.executor.halt', request: ExecutorHaltRequest, reply: ExecutorHaltReply },
  executorResume: { subject: 'cmd.executor.resume', request: ExecutorResumeRequest, reply: ExecutorResumeReply },
} as const satisfies Record<string, CommandSpec>;
