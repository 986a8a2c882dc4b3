import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Alert } from '@vigil/contracts';
import { isSecretName, retry, RetryAborted, type Logger, type Metrics } from '@vigil/service-kit';
import type { AlertDraft } from './drafts.js';
import {
  healthySink,
  nextSinkHealth,
  sinkFailingDraft,
  type SinkFailingLimits,
  type SinkOutcome,
} from './sink-health.js';

/** Somewhere alerts go besides NATS. `deliver` throws when the alert did not get there. */
export interface AlertSink {
  name: string;
  deliver(alert: Alert, signal: AbortSignal): Promise<void>;
  /** Whether this sink wants the alert at all (a pager wants no info notices); default: every alert. */
  accepts?(alert: Alert): boolean;
}

export interface SinkErrorOptions {
  cause?: unknown;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  /** The receiver's Retry-After, in ms. */
  retryAfterMs?: number | null;
  /** Another attempt would be refused the same way (HTTP 400, a revoked webhook): give up at once. */
  permanent?: boolean;
}

export class SinkError extends Error {
  override name = 'SinkError';
  readonly status: number | null;
  readonly retryAfterMs: number | null;
  readonly permanent: boolean;

  constructor(message: string, opts: SinkErrorOptions = {}) {
    super(message, { cause: opts.cause });
    this.status = opts.status ?? null;
    this.retryAfterMs = opts.retryAfterMs ?? null;
    this.permanent = opts.permanent ?? false;
  }
}

/** One line a person reads on a phone: severity, kind, what happened. */
export function alertText(a: Alert): string {
  const status = a.status === 'info' ? '' : ` (${a.status})`;
  return `[${a.severity.toUpperCase()}] ${a.kind}${status}: ${a.message}${a.incidentId ? ` [incident ${a.incidentId}]` : ''}`;
}

/**
 * The environment an alert hook runs with: ours without its secrets. A hook is someone's shell script; it
 * needs PATH and HOME, not the Alpaca keys, the NATS password, the webhook URLs or the PagerDuty key.
 */
export function hookEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !isSecretName(name)));
}

/** Runs `command` in a shell with the alert as JSON on stdin (without our secrets); a non-zero exit is a failed delivery. */
export function commandSink(command: string, timeoutMs: number): AlertSink {
  return {
    name: 'command',
    deliver: (alert, signal) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', command], {
          stdio: ['pipe', 'ignore', 'pipe'],
          env: hookEnv(process.env),
          signal,
          timeout: timeoutMs,
          killSignal: 'SIGKILL',
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
        child.stdin.on('error', () => undefined); // a hook that ignores stdin closes it early; its exit code decides
        child.once('error', (err) =>
          reject(new SinkError(`alert command could not run: ${err.message}`, { cause: err })),
        );
        child.once('close', (code, sig) => {
          if (code === 0) resolve();
          else
            reject(
              new SinkError(`alert command exited with ${sig ?? `code ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`),
            );
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
  /** Watch the sink: `raise` gets its `sink_failing` alert when it keeps failing, and the resolve when it delivers again. */
  failing?: SinkFailingLimits & { raise: (draft: AlertDraft) => void };
  now?: () => number;
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
  private readonly failingGauge;
  private health = healthySink;
  private readonly now: () => number;

  constructor(
    private readonly sink: AlertSink,
    private readonly opts: SinkQueueOptions,
  ) {
    this.log = opts.logger.child({ component: 'alert-sink', sink: sink.name });
    this.deliveries = opts.metrics.counter(
      'watchdog_sink_deliveries_total',
      'Alert sink deliveries by sink and outcome',
      ['sink', 'outcome'],
    );
    this.queued = opts.metrics.gauge('watchdog_sink_queue_length', 'Alerts waiting per sink', ['sink']);
    this.queued.set({ sink: sink.name }, 0);
    this.failingGauge = opts.metrics.gauge(
      'watchdog_sink_failing',
      '1 while an alert sink keeps failing (its sink_failing alert is open)',
      ['sink'],
    );
    this.failingGauge.set({ sink: sink.name }, 0);
    this.now = opts.now ?? Date.now;
  }

  push(alert: Alert): void {
    // A failing sink's own sink_failing goes through the others: it would only queue up behind its failures.
    const aboutItself = alert.kind === 'sink_failing' && alert.details.sink === this.sink.name;
    if (aboutItself || (this.sink.accepts && !this.sink.accepts(alert))) {
      this.deliveries.inc({ sink: this.sink.name, outcome: 'skipped' });
      this.log.debug({ alertId: alert.id, kind: alert.kind }, 'alert not for this sink; skipped');
      return;
    }
    // Per incident, one delivery per kind, status and severity (an escalation to critical is a new step); a
    // failed command is its own page (a failed halt must not be swallowed because a failed reconnect of the
    // same incident went out first).
    const command = typeof alert.details.command === 'string' ? `:${alert.details.command}` : '';
    const key = alert.incidentId
      ? `${alert.incidentId}:${alert.kind}:${alert.status}:${alert.severity}${command}`
      : alert.id;
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
      this.log.error(
        { alertId: dropped.id, kind: dropped.kind, maxQueue: this.opts.maxQueue },
        'alert sink queue full; dropped the oldest alert (it is still on NATS and in the log)',
      );
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
      const current = alert;
      let attempts = 0;
      try {
        await retry(
          async (attempt) => {
            attempts = attempt;
            const wait = this.lastSentAt + this.opts.minIntervalMs - this.now();
            if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
            this.lastSentAt = this.now();
            await this.sink.deliver(current, signal);
          },
          {
            label: `alert delivery to ${this.sink.name}`,
            policy: { initialMs: this.opts.backoffMs, maxMs: this.opts.backoffMs * 16 },
            maxAttempts: this.opts.attempts,
            shouldRetry: (err) => !(err instanceof SinkError && err.permanent),
            retryAfterMs: (err) => (err instanceof SinkError ? err.retryAfterMs : null),
            signal,
            logger: this.log,
            message: 'alert delivery failed; retrying',
            fields: ({ err, attempt, delayMs }) => ({ err, alertId: current.id, attempt, retryInMs: delayMs }),
            onRetry: ({ err }) => {
              this.deliveries.inc({ sink: this.sink.name, outcome: 'retry' });
              this.note('retry', err);
            },
          },
        );
        this.deliveries.inc({ sink: this.sink.name, outcome: 'ok' });
        this.log.info({ alertId: current.id, kind: current.kind, attempt: attempts }, 'alert delivered');
        this.note('delivered', null);
      } catch (err) {
        // Stopping is not a failure of the sink: out, without a give-up.
        if (!(err instanceof RetryAborted)) {
          this.deliveries.inc({ sink: this.sink.name, outcome: 'failed' });
          this.log.error(
            { err, alertId: current.id, kind: current.kind, attempts },
            'alert delivery failed; giving up on this alert',
          );
          this.note('gave_up', err);
        }
      }
      this.queued.set({ sink: this.sink.name }, this.queue.length);
    }
  }

  /** Tracks the run of failures; raises `sink_failing` once when the sink keeps failing, resolves it when it delivers. */
  private note(outcome: SinkOutcome, err: unknown): void {
    if (!this.opts.failing) return;
    const { health, change } = nextSinkHealth(this.health, outcome, this.now(), this.opts.failing);
    this.health = health;
    if (!change) return;
    this.failingGauge.set({ sink: this.sink.name }, change.to === 'failing' ? 1 : 0);
    const lastError = err instanceof Error ? err.message : err === null ? null : String(err);
    this.opts.failing.raise(sinkFailingDraft(this.sink.name, change, lastError));
  }
}
