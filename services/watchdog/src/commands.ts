import type { NatsConnection } from '@nats-io/transport-node';
import {
  commands,
  type CommandRequest,
  type ExecutorFlattenReply,
  type ExecutorHaltReply,
  type GatewayReconnectReply,
} from '@vigil/contracts';
import {
  CommandBadReply,
  CommandNoResponders,
  CommandTimeout,
  requestCommand,
  retry,
  RetryAborted,
  type Logger,
  type Metrics,
} from '@vigil/service-kit';
import type { CommandName } from './rules.js';

/** A command attempt worth repeating (nobody answered); carries the attempt's error text. */
class Unanswered extends Error {}

/** The command each of the watchdog's actions sends. */
const specs = {
  reconnect: commands.gatewayReconnect,
  halt: commands.executorHalt,
  flatten: commands.executorFlatten,
  resume: commands.executorResume,
} as const;

export type CommandOutcomeKind = 'ok' | 'rejected' | 'bad_reply' | 'timeout' | 'no_responders' | 'error';

export interface CommandOutcome {
  ok: boolean;
  outcome: CommandOutcomeKind;
  attempts: number;
  error?: string;
  reply?: GatewayReconnectReply | ExecutorHaltReply | ExecutorFlattenReply;
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
    this.attemptsTotal = opts.metrics.counter(
      'watchdog_command_attempts_total',
      'Command request attempts by command and result',
      ['command', 'result'],
    );
    this.outcomes = opts.metrics.counter('watchdog_commands_total', 'Commands by final outcome', [
      'command',
      'outcome',
    ]);
  }

  async send(command: CommandName, incidentId: string | null, reason: string): Promise<CommandOutcome> {
    // `by: watchdog`: the executor lets the watchdog lift only a halt it set itself, for the incident it names.
    const request = {
      v: 1,
      requestedBy: this.opts.requestedBy,
      by: 'watchdog',
      reason,
      ...(incidentId ? { incidentId } : {}),
    } as const;
    const policy = { initialMs: this.opts.backoffMs, maxMs: Math.max(this.opts.backoffMs * 8, 1) };
    let result: CommandOutcome = { ok: false, outcome: 'error', attempts: 0, error: 'not sent' };
    try {
      await retry(
        async (attempt) => {
          result = await this.attempt(command, request, attempt);
          this.attemptsTotal.inc({ command, result: result.outcome });
          const retryable =
            result.outcome === 'no_responders' || (result.outcome === 'timeout' && command !== 'flatten');
          if (retryable) throw new Unanswered(result.error);
        },
        {
          label: `${command} command`,
          policy,
          maxAttempts: this.opts.attempts,
          shouldRetry: (err) => err instanceof Unanswered,
          signal: this.stopping.signal,
          logger: this.log,
          message: `${command} command got no answer; retrying`,
          fields: ({ attempt, delayMs }) => ({ command, incidentId, attempt, error: result.error, retryInMs: delayMs }),
        },
      );
    } catch (err) {
      // Out of attempts, or stopping: `result` holds the last answer (or 'not sent').
      if (!(err instanceof Unanswered || err instanceof RetryAborted)) throw err;
    }
    this.outcomes.inc({ command, outcome: result.outcome });
    const line = {
      command,
      incidentId,
      reason,
      outcome: result.outcome,
      attempts: result.attempts,
      error: result.error,
      reply: result.reply,
    };
    if (result.ok) this.log.info(line, `${command} command succeeded`);
    else this.log.error(line, `${command} command failed (${result.outcome})`);
    return result;
  }

  /** Abandon retries (shutdown); a request already on the wire still finishes. */
  stop(): void {
    this.stopping.abort();
  }

  private async attempt(
    command: CommandName,
    request: CommandRequest<(typeof specs)[CommandName]>,
    attempt: number,
  ): Promise<CommandOutcome> {
    const timeoutMs = command === 'flatten' ? this.opts.flattenTimeoutMs : this.opts.timeoutMs;
    try {
      const reply = await requestCommand(this.opts.nc, specs[command], request, { timeoutMs });
      if (!reply.ok)
        return {
          ok: false,
          outcome: 'rejected',
          attempts: attempt,
          error: reply.error ?? 'refused without a reason',
          reply,
        };
      return { ok: true, outcome: 'ok', attempts: attempt, reply };
    } catch (err) {
      const error = (err as Error).message;
      if (err instanceof CommandNoResponders) return { ok: false, outcome: 'no_responders', attempts: attempt, error };
      if (err instanceof CommandTimeout) return { ok: false, outcome: 'timeout', attempts: attempt, error };
      if (err instanceof CommandBadReply) {
        this.log.error({ err, command }, `${command} reply does not match its schema`);
        return { ok: false, outcome: 'bad_reply', attempts: attempt, error };
      }
      return { ok: false, outcome: 'error', attempts: attempt, error };
    }
  }
}
