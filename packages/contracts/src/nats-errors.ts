import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';

/**
 * NATS and JetStream failures told apart by class and server error code, never by message text: "not found"
 * in a message cannot tell a missing stream from a missing consumer, and texts change between releases.
 * They live here, not in service-kit, because contracts' own stream helpers need them and service-kit
 * depends on contracts (service-kit re-exports them).
 */

/** The JetStream API answered with error code `code` (`JetStreamApiCodes`, the server's `err_code`). */
export function isJetStreamApiError(err: unknown, code?: number): err is JetStreamApiError {
  return err instanceof JetStreamApiError && (code === undefined || err.code === code);
}

/** No such stream (10059), e.g. from `jsm.streams.info`, or `jsm.consumers.info` on a missing stream. */
export function isStreamNotFound(err: unknown): err is JetStreamApiError {
  return isJetStreamApiError(err, JetStreamApiCodes.StreamNotFound);
}

/** No such consumer on an existing stream (10014). */
export function isConsumerNotFound(err: unknown): err is JetStreamApiError {
  return isJetStreamApiError(err, JetStreamApiCodes.ConsumerNotFound);
}

/** The stream has no message matching the query (10037), e.g. `STREAM.MSG.GET` by `last_by_subj`. */
export function isNoMessageFound(err: unknown): err is JetStreamApiError {
  return isJetStreamApiError(err, JetStreamApiCodes.NoMessageFound);
}

/** A compare-and-set write lost: the subject's last sequence (a KV key's revision) is not the one expected (10071). */
export function isWrongLastSequence(err: unknown): err is JetStreamApiError {
  return isJetStreamApiError(err, JetStreamApiCodes.StreamWrongLastSequence);
}

/** A request's cause when nats.js wrapped it in a `RequestError`, else the error itself. */
function requestCause(err: unknown): unknown {
  return err instanceof errors.RequestError && err.cause !== undefined ? err.cause : err;
}

/** Nobody subscribes to the subject a request went to (the server answers at once with a 503 status). */
export function isNoResponders(err: unknown): boolean {
  return requestCause(err) instanceof errors.NoRespondersError;
}

/** A request or operation got no answer in time. */
export function isTimeout(err: unknown): boolean {
  return requestCause(err) instanceof errors.TimeoutError;
}

/** The server refused a publish or subscription for this user's permissions. */
export function isPermissionViolation(err: unknown): boolean {
  return requestCause(err) instanceof errors.PermissionViolationError;
}
