import type { JetStreamManager } from '@nats-io/jetstream';
import { Alert, decodeOn, isStreamNotFound, streams } from '@vigil/contracts';

export interface AlertLog {
  /** Oldest first. */
  alerts: Alert[];
  /** Stored messages that are not valid alerts (skipped, counted so the person knows). */
  invalid: number;
  /** How many stored alerts were looked at, and whether that was all the stream holds. */
  scanned: number;
  complete: boolean;
}

/** ALERTS is not there: the watchdog has never started against this server. */
export class AlertsStreamMissing extends Error {
  override name = 'AlertsStreamMissing';
}

/**
 * The last `max` messages of the ALERTS stream, read back one by one by sequence (`$JS.API.STREAM.MSG.GET`:
 * the operator may read, not create the consumer a batch read needs).
 */
export async function readAlertLog(jsm: JetStreamManager, max: number): Promise<AlertLog> {
  const name = streams.alerts.name;
  const info = await jsm.streams.info(name).catch((err: unknown) => {
    if (isStreamNotFound(err))
      throw new AlertsStreamMissing(`no ${name} stream on this server: the watchdog creates it at its start`, {
        cause: err,
      });
    throw err;
  });
  const { first_seq: first, last_seq: last, messages } = info.state;
  const alerts: Alert[] = [];
  let invalid = 0;
  let scanned = 0;
  for (let seq = last; messages > 0 && seq >= first && scanned < max; seq--) {
    const m = await jsm.streams.getMessage(name, { seq });
    // A message aged out while reading: the older ones are gone too.
    if (!m) break;
    scanned++;
    const decoded = decodeOn(Alert, m.subject, m.data);
    if (decoded.ok) alerts.push(decoded.value);
    else invalid++;
  }
  return { alerts: alerts.reverse(), invalid, scanned, complete: scanned >= messages };
}
