import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureStreams, streams } from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';

/**
 * When the newest bar was stored in BARS, or null when the stream is empty, missing or unreadable. Read at
 * start: it is what the data did while the watchdog was not watching, from NATS itself, not the gateway.
 */
export async function lastBarStoredAt(nc: NatsConnection, log: Logger): Promise<number | null> {
  try {
    const info = await (await jetstreamManager(nc)).streams.info(streams.bars.name);
    if (info.state.messages === 0) return null;
    const t = Date.parse(info.state.last_ts);
    return Number.isFinite(t) ? t : null;
  } catch (err) {
    log.warn(
      { err },
      'cannot read when the last bar was stored; waiting a full NO_BAR_ALERT_MS from now before judging staleness',
    );
    return null;
  }
}

/**
 * Create the ALERTS stream the watchdog publishes into, so alerts outlive the moment nobody was subscribed.
 * Until it exists (JetStream still starting) alerts still go out on core NATS, to the sinks and to the log;
 * creation is retried every `retryMs` until it succeeds or `stop()` is called.
 */
export function keepAlertsStream(
  nc: NatsConnection,
  log: Logger,
  metrics: Metrics,
  { replicas = 1, retryMs = 30_000 }: { replicas?: number; retryMs?: number } = {},
): { stop(): void } {
  const failures = metrics.counter(
    'watchdog_alerts_stream_failures_total',
    'Failed attempts to create or update the ALERTS stream',
  );
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failing = false;
  const attempt = async (): Promise<void> => {
    try {
      await ensureStreams(await jetstreamManager(nc), [streams.alerts], { replicas });
      if (failing) log.info('ALERTS stream ready; alerts are stored again');
    } catch (err) {
      failures.inc();
      if (!failing)
        log.error(
          { err, retryInMs: retryMs },
          'cannot create the ALERTS stream; alerts go out on core NATS only until it exists; retrying',
        );
      failing = true;
      if (!stopped) timer = setTimeout(() => void attempt(), retryMs);
    }
  };
  void attempt();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
