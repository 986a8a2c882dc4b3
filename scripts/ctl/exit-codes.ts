import {
  CommandBadReply,
  CommandNoResponders,
  CommandServiceError,
  CommandTimeout,
  isNoResponders,
  isTimeout,
} from '@vigil/service-kit';

/**
 * `./vigil ctl`'s exit codes, for scripts: each says what to do next. README and docs/operations.md list them.
 * 6 is not "refused": the service's answer could not be read, so whether it acted is unknown.
 */
export const EXIT = {
  ok: 0,
  /** The service answered `ok: false`: it refused, and says why. */
  refused: 1,
  /** The command line is wrong: nothing was sent. */
  usage: 2,
  /** Nobody answers the subject: the service is down or restarting; nothing was received. */
  noResponders: 3,
  /** No answer in time: the service may be stuck, or may have acted without answering. */
  timeout: 4,
  /** No connection to NATS: the server is not there, or the login is wrong. */
  connect: 5,
  /** An answer that is not a valid reply (a service error, another contract version): outcome unknown. */
  badReply: 6,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * The exit code of a failed request: `requestCommand`'s errors, or a JetStream request's (no responders: no
 * JetStream there). Anything else (a closed connection, a permission refused) is a connection problem.
 */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof CommandNoResponders || isNoResponders(err)) return EXIT.noResponders;
  if (err instanceof CommandTimeout || isTimeout(err)) return EXIT.timeout;
  if (err instanceof CommandBadReply || err instanceof CommandServiceError) return EXIT.badReply;
  return EXIT.connect;
}
