import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger, Metrics } from '@vigil/service-kit';
import { pingForm, type PingForm } from './deadman.js';

export interface DeadmanOptions {
  /** The check's URL (`ok` form) and its fail form. Both are secrets: never logged. */
  urls: Record<PingForm, string>;
  intervalMs: number;
  timeoutMs: number;
  /** Whether NATS answers now. */
  connected: () => Promise<boolean>;
  /** Whether a critical incident is open. */
  criticalOpen: () => boolean;
  logger: Logger;
  metrics: Metrics;
}

/** True when the connection completes a round trip within `timeoutMs`; false while it is away or wedged. */
export async function natsAnswers(nc: NatsConnection, timeoutMs: number): Promise<boolean> {
  const ac = new AbortController();
  try {
    return await Promise.race([
      nc.rtt().then(() => true),
      sleep(timeoutMs, false, { signal: ac.signal }).catch(() => false),
    ]);
  } catch {
    return false;
  } finally {
    ac.abort();
  }
}

/**
 * Pings the dead man's switch every `intervalMs` (and once at start) with a GET of the ok or fail form
 * (`deadman.ts` decides which), or nothing while NATS does not answer. A ping still in flight makes the next
 * tick skip, so a slow receiver never piles requests up, and nothing here waits on the rules. A failed ping is
 * counted every time and logged once per run of failures, without its URL (a ping URL is a credential).
 */
export class DeadmanSwitch {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private failing = false;
  private silent = false;
  private form: PingForm | null = null;
  private readonly stopping = new AbortController();
  private readonly log: Logger;
  private readonly pings;

  constructor(private readonly opts: DeadmanOptions) {
    this.log = opts.logger.child({ component: 'deadman' });
    this.pings = opts.metrics.counter(
      'watchdog_deadman_pings_total',
      "Dead man's switch pings by form (ok, fail) and outcome (sent, error, skipped: NATS away)",
      ['form', 'outcome'],
    );
  }

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopping.abort();
  }

  async tick(): Promise<void> {
    if (this.busy || this.stopping.signal.aborted) return;
    this.busy = true;
    try {
      const connected = await this.opts.connected();
      const form = pingForm(connected, this.opts.criticalOpen());
      if (form === null) {
        this.pings.inc({ form: 'none', outcome: 'skipped' });
        if (!this.silent)
          this.log.warn("NATS does not answer: not pinging the dead man's switch, so its service pages if this lasts");
        this.silent = true;
        return;
      }
      if (this.silent) this.log.info("NATS answers again: pinging the dead man's switch again");
      this.silent = false;
      await this.ping(form);
    } finally {
      this.busy = false;
    }
  }

  private async ping(form: PingForm): Promise<void> {
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.opts.timeoutMs)]);
    let problem: string | null = null;
    try {
      const res = await fetch(this.opts.urls[form], { method: 'GET', signal });
      await res.body?.cancel();
      if (!res.ok) problem = `HTTP ${res.status}`;
    } catch (err) {
      if (this.stopping.signal.aborted) return;
      // The error's code only: a fetch error can carry the request, and the URL is a secret.
      const e = err as Error & { cause?: { code?: string } };
      problem = e.name === 'TimeoutError' ? `no answer in ${this.opts.timeoutMs} ms` : (e.cause?.code ?? e.name);
    }
    this.pings.inc({ form, outcome: problem ? 'error' : 'sent' });
    if (problem && !this.failing)
      this.log.warn(
        { form, problem },
        "dead man's switch ping failed; retrying every DEADMAN_INTERVAL_MS (its service pages if pings stay away)",
      );
    else if (!problem && this.failing) this.log.info({ form }, "dead man's switch ping delivered again");
    this.failing = problem !== null;
    if (form !== this.form)
      this.log.info(
        { form },
        form === 'fail'
          ? "a critical incident is open: pinging the dead man's switch's fail form"
          : "no critical incident open: pinging the dead man's switch's ok form",
      );
    this.form = form;
  }
}
