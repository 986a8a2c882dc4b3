import { setTimeout as sleep } from 'node:timers/promises';
import { errors, type NatsConnection } from '@nats-io/transport-node';
import {
  decodeAs,
  encode,
  ExecutorFlattenReply,
  ExecutorFlattenRequest,
  ExecutorHaltReply,
  ExecutorHaltRequest,
  ExecutorResumeRequest,
  GatewayReconnectReply,
  GatewayReconnectRequest,
  subjects,
} from '@vigil/contracts';
import { backoffDelay, type Logger, type Metrics } from '@vigil/service-kit';
import type { CommandName } from './rules.js';

/** Each command's subject and schemas. Resume answers with the executor's halt state, like halt. */
const specs = {
  reconnect: { subject: subjects.gatewayReconnect, request: GatewayReconnectRequest, reply: GatewayReconnectReply },
  halt: { subject: subjects.executorHalt, request: ExecutorHaltRequest, reply: ExecutorHaltReply },
  flatten: { subject: subjects.executorFlatten, request: ExecutorFlattenRequest, reply: ExecutorFlattenReply },
  resume: { subject: subjects.executorResume, request: ExecutorResumeRequest, reply: ExecutorHaltReply },
} as const;

export type CommandOutcomeKind = 'ok' | 'rejected' | 'bad_reply' | 'timeout' | 'no_responders' | 'error';

export interface CommandOutcome {
  ok: boolean;
  outcome: CommandOutcomeKind;
  attempts: number;
  error?: string;
  reply?: unknown;
}

export interface CommandSenderOptions {
  nc: NatsConnection;
  logger: Logger;
  metrics: Metrics;
  /** Who asks, for the request's `requestedBy` (the watchdog's instance id). */
  requestedBy: string;
  timeoutMs: number;
  /** A flatten can take a while (the executor closes every position, with its own broker retries). */
  flattenTimeoutMs: number;
  attempts: number;
  backoffMs: number;
}

/**
 * Sends the watchdog's commands as NATS requests. A timeout or "no responders" is retried with jittered
 * backoff (the responder may be restarting); a reply, even `ok: false`, is final. A flatten is the exception:
 * after a timeout the executor may be closing positions still, so it is never sent twice (only "no
 * responders", which means nobody received it, is retried). Every attempt is logged and counted, and the
 * final outcome is returned for the rules to act on.
 */
export class CommandSender {
  private readonly log: Logger;
  private readonly attemptsTotal;
  private readonly outcomes;
  private readonly stopping = new AbortController();

  constructor(private readonly opts: CommandSenderOptions) {
    this.log = opts.logger.child({ component: 'commands' });
    this.attemptsTotal = opts.metrics.counter('watchdog_command_attempts_total', 'Command request attempts by command and result', ['command', 'result']);
    this.outcomes = opts.metrics.counter('watchdog_commands_total', 'Commands by final outcome', ['command', 'outcome']);
  }

  async send(command: CommandName, incidentId: string | null, reason: string): Promise<CommandOutcome> {
    const spec = specs[command];
    const payload = encode(spec.request, { v: 1, requestedBy: this.opts.requestedBy, reason, ...(incidentId ? { incidentId } : {}) });
    const policy = { initialMs: this.opts.backoffMs, maxMs: Math.max(this.opts.backoffMs * 8, 1) };
    let result: CommandOutcome = { ok: false, outcome: 'error', attempts: 0, error: 'not sent' };
    for (let attempt = 1; attempt <= this.opts.attempts && !this.stopping.signal.aborted; attempt++) {
      result = await this.attempt(command, spec, payload, attempt);
      this.attemptsTotal.inc({ command, result: result.outcome });
      const retryable = result.outcome === 'no_responders' || (result.outcome === 'timeout' && command !== 'flatten');
      if (!retryable || attempt === this.opts.attempts) break;
      const delay = backoffDelay(policy, attempt - 1);
      this.log.warn({ command, incidentId, attempt, error: result.error, retryInMs: delay }, `${command} command got no answer; retrying`);
      await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
    this.outcomes.inc({ command, outcome: result.outcome });
    const line = { command, incidentId, reason, outcome: result.outcome, attempts: result.attempts, error: result.error, reply: result.reply };
    if (result.ok) this.log.info(line, `${command} command succeeded`);
    else this.log.error(line, `${command} command failed (${result.outcome})`);
    return result;
  }

  /** Abandon retries (shutdown); a request already on the wire still finishes. */
  stop(): void {
    this.stopping.abort();
  }

  private async attempt(command: CommandName, spec: (typeof specs)[CommandName], payload: Uint8Array, attempt: number): Promise<CommandOutcome> {
    const timeoutMs = command === 'flatten' ? this.opts.flattenTimeoutMs : this.opts.timeoutMs;
    let data: Uint8Array;
    try {
      data = (await this.opts.nc.request(spec.subject, payload, { timeout: timeoutMs })).data;
    } catch (err) {
      const cause = err instanceof errors.RequestError && err.cause ? err.cause : err;
      if (cause instanceof errors.NoRespondersError) return { ok: false, outcome: 'no_responders', attempts: attempt, error: `nobody answers ${spec.subject}` };
      if (cause instanceof errors.TimeoutError) return { ok: false, outcome: 'timeout', attempts: attempt, error: `no reply on ${spec.subject} within ${timeoutMs} ms` };
      return { ok: false, outcome: 'error', attempts: attempt, error: (err as Error).message };
    }
    const reply = decodeAs(spec.reply, `${spec.subject} reply`, data);
    if (!reply.ok) {
      this.log.error({ err: reply.error, command }, `${command} reply does not match its schema`);
      return { ok: false, outcome: 'bad_reply', attempts: attempt, error: reply.error.message };
    }
    if (!reply.value.ok) return { ok: false, outcome: 'rejected', attempts: attempt, error: reply.value.error ?? 'refused without a reason', reply: reply.value };
    return { ok: true, outcome: 'ok', attempts: attempt, reply: reply.value };
  }
}
