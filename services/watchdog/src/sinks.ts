import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Alert } from '@vigil/contracts';
import { backoffDelay, type Logger, type Metrics } from '@vigil/service-kit';

/** Somewhere alerts go besides NATS. `deliver` throws when the alert did not get there. */
export interface AlertSink {
  name: string;
  deliver(alert: Alert, signal: AbortSignal): Promise<void>;
}

export class SinkError extends Error {
  override name = 'SinkError';
}

/** One line a person reads on a phone: severity, kind, what happened. */
export function alertText(a: Alert): string {
  const status = a.status === 'info' ? '' : ` (${a.status})`;
  return `[${a.severity.toUpperCase()}] ${a.kind}${status}: ${a.message}${a.incidentId ? ` [incident ${a.incidentId}]` : ''}`;
}

/** POSTs `{ text, alert }`: Slack and most chat webhooks show `text`, other receivers get the whole alert. */
export function webhookSink(url: string, timeoutMs: number): AlertSink {
  return {
    name: 'webhook',
    async deliver(alert, signal) {
      // A plain timer, not AbortSignal.any/timeout: on Node 20 a combined signal can be collected before it fires.
      const abort = new AbortController();
      const onStop = () => abort.abort();
      signal.addEventListener('abort', onStop);
      const timer = setTimeout(() => abort.abort(new SinkError(`webhook did not answer within ${timeoutMs} ms`)), timeoutMs);
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: alertText(alert), alert }),
          signal: abort.signal,
        });
        await res.body?.cancel();
      } catch (cause) {
        // The URL is a secret: name the failure, never the address.
        const why = (cause as Error & { cause?: { code?: string } }).cause?.code ?? (cause as Error).message;
        throw new SinkError(`webhook request failed (${why})`, { cause });
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onStop);
      }
      if (!res.ok) throw new SinkError(`webhook answered HTTP ${res.status}`);
    },
  };
}

/** Runs `command` in a shell with the alert as JSON on stdin; a non-zero exit is a failed delivery. */
export function commandSink(command: string, timeoutMs: number): AlertSink {
  return {
    name: 'command',
    deliver: (alert, signal) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'ignore', 'pipe'], signal, timeout: timeoutMs, killSignal: 'SIGKILL' });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
        child.stdin.on('error', () => undefined); // a hook that ignores stdin closes it early; its exit code decides
        child.once('error', (err) => reject(new SinkError(`alert command could not run: ${err.message}`, { cause: err })));
        child.once('close', (code, sig) => {
          if (code === 0) resolve();
          else reject(new SinkError(`alert command exited with ${sig ?? `code ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`));
        });
        child.stdin.end(JSON.stringify(alert));
      }),
  };
}

export interface SinkQueueOptions {
  logger: Logger;
  metrics: Metrics;
  attempts: number;
  backoffMs: number;
  /** At most one delivery per this interval. */
  minIntervalMs: number;
  maxQueue: number;
}

/**
 * A sink's own queue: `push` returns at once, so a slow or failing sink never holds up the rules or the
 * other sinks. Deliveries are one at a time, spaced by `minIntervalMs`, retried with backoff, and the
 * same step of the same incident is delivered once however often it is pushed.
 */
export class SinkQueue {
  private readonly queue: Alert[] = [];
  private readonly seen = new Set<string>();
  private running: Promise<void> | null = null;
  private lastSentAt = 0;
  private readonly stopping = new AbortController();
  private readonly log: Logger;
  private readonly deliveries;
  private readonly queued;

  constructor(
    private readonly sink: AlertSink,
    private readonly opts: SinkQueueOptions,
  ) {
    this.log = opts.logger.child({ component: 'alert-sink', sink: sink.name });
    this.deliveries = opts.metrics.counter('watchdog_sink_deliveries_total', 'Alert sink deliveries by sink and outcome', ['sink', 'outcome']);
    this.queued = opts.metrics.gauge('watchdog_sink_queue_length', 'Alerts waiting per sink', ['sink']);
    this.queued.set({ sink: sink.name }, 0);
  }

  push(alert: Alert): void {
    // Per incident, one delivery per kind and status; a failed command is its own page (a failed halt must not
    // be swallowed because a failed reconnect of the same incident went out first).
    const command = typeof alert.details.command === 'string' ? `:${alert.details.command}` : '';
    const key = alert.incidentId ? `${alert.incidentId}:${alert.kind}:${alert.status}${command}` : alert.id;
    if (this.seen.has(key)) {
      this.deliveries.inc({ sink: this.sink.name, outcome: 'duplicate' });
      this.log.debug({ alertId: alert.id, key }, 'alert already sent for this incident; skipped');
      return;
    }
    this.seen.add(key);
    if (this.seen.size > 5000) this.seen.delete(this.seen.values().next().value!);
    if (this.queue.length >= this.opts.maxQueue) {
      const dropped = this.queue.shift()!;
      this.deliveries.inc({ sink: this.sink.name, outcome: 'dropped' });
      this.log.error({ alertId: dropped.id, kind: dropped.kind, maxQueue: this.opts.maxQueue }, 'alert sink queue full; dropped the oldest alert (it is still on NATS and in the log)');
    }
    this.queue.push(alert);
    this.queued.set({ sink: this.sink.name }, this.queue.length);
    this.running ??= this.drain().finally(() => (this.running = null));
  }

  /** Resolves when the queue is empty (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopping.abort();
  }

  private async drain(): Promise<void> {
    const signal = this.stopping.signal;
    for (let alert = this.queue.shift(); alert && !signal.aborted; alert = this.queue.shift()) {
      for (let attempt = 1; attempt <= this.opts.attempts && !signal.aborted; attempt++) {
        const wait = this.lastSentAt + this.opts.minIntervalMs - Date.now();
        if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
        this.lastSentAt = Date.now();
        try {
          await this.sink.deliver(alert, signal);
          this.deliveries.inc({ sink: this.sink.name, outcome: 'ok' });
          this.log.info({ alertId: alert.id, kind: alert.kind, attempt }, 'alert delivered');
          break;
        } catch (err) {
          const last = attempt === this.opts.attempts;
          this.deliveries.inc({ sink: this.sink.name, outcome: last ? 'failed' : 'retry' });
          if (last) this.log.error({ err, alertId: alert.id, kind: alert.kind, attempts: attempt }, 'alert delivery failed; giving up on this alert');
          else {
            const delay = backoffDelay({ initialMs: this.opts.backoffMs, maxMs: this.opts.backoffMs * 16 }, attempt - 1);
            this.log.warn({ err, alertId: alert.id, attempt, retryInMs: delay }, 'alert delivery failed; retrying');
            await sleep(delay, undefined, { signal }).catch(() => undefined);
          }
        }
      }
      this.queued.set({ sink: this.sink.name }, this.queue.length);
    }
  }
}
