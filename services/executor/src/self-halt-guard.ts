import { decodeOn, GatewayHeartbeat, HealthReport, healthSubject, subjects } from '@vigil/contracts';
import type { Logger, Metrics, NatsConnection } from '@vigil/service-kit';
import type { Msg, Subscription } from '@nats-io/transport-node';
import type * as z from 'zod';
import type { HaltSwitch } from './halt.js';
import type { PublishOrderEvent } from './order-events.js';
import type { MarketView } from './risk.js';
import { decideSelfHalt, showsFreshBar } from './self-halt.js';

export interface SelfHaltGuardDeps {
  nc: NatsConnection;
  brokerNow: () => number | null;
  market: () => MarketView;
  /** SELF_HALT_AFTER_MS. */
  afterMs: number;
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
}

/**
 * Listens for the watchdog's health (`health.watchdog`) and the gateway's heartbeat (`md.heartbeat`), and halts the
 * executor (`by: executor`) when `decideSelfHalt` says nothing has shown for SELF_HALT_AFTER_MS of open market that
 * data is live or that the watchdog is there to act on it.
 */
export class SelfHaltGuard {
  private watchdogAt: number | null = null;
  private freshBarAt: number | null = null;
  private countingSince: number | null = null;
  /** The self-halt (its `since`) whose watchdog return was logged, so it is logged once. */
  private announcedReturn: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  private readonly subs: Subscription[];
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly selfHalts;
  private readonly errors;
  private readonly invalid;
  private halt: HaltSwitch | null = null;
  private publish: PublishOrderEvent | null = null;

  constructor(private readonly deps: SelfHaltGuardDeps) {
    this.now = deps.now ?? Date.now;
    this.log = deps.logger.child({ component: 'self-halt' });
    const m = deps.metrics;
    this.selfHalts = m.counter('executor_self_halts_total', 'Self-halts: no watchdog health and no fresh bar');
    this.errors = m.counter('executor_self_halt_errors_total', 'Self-halts not saved or not announced', ['step']);
    this.invalid = m.counter('executor_liveness_invalid_total', 'Malformed health reports or heartbeats', ['kind']);
    this.subs = [
      deps.nc.subscribe(healthSubject('watchdog'), { callback: this.on('watchdog', HealthReport, () => this.heard()) }),
      deps.nc.subscribe(subjects.heartbeat, {
        callback: this.on('heartbeat', GatewayHeartbeat, (hb) => {
          if (showsFreshBar(hb, deps.brokerNow())) this.freshBarAt = this.now();
        }),
      }),
    ];
  }

  /** When the watchdog's health report last arrived: its resume may lift a self-halt after it. */
  watchdogHeardAt(): number | null {
    return this.watchdogAt;
  }

  /** Start checking (every tenth of SELF_HALT_AFTER_MS, at most every 5 s), halting through `halt`. */
  start(halt: HaltSwitch, publish: PublishOrderEvent): void {
    this.halt = halt;
    this.publish = publish;
    const everyMs = Math.min(5_000, Math.max(100, Math.floor(this.deps.afterMs / 10)));
    this.timer = setInterval(() => void this.check(), everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const s of this.subs) s.unsubscribe();
  }

  /** Decode each message as `schema`, checked against its subject; count and skip a malformed one. */
  private on<S extends z.ZodType>(kind: string, schema: S, handle: (value: z.infer<S>) => void) {
    return (err: Error | null, msg: Msg) => {
      if (err) return this.log.error({ err, kind }, 'subscription failed');
      const d = decodeOn(schema, msg.subject, msg.data);
      if (!d.ok) {
        this.invalid.inc({ kind });
        return this.log.error({ err: d.error, subject: msg.subject }, 'ignored a malformed message');
      }
      handle(d.value);
    };
  }

  private heard(): void {
    this.watchdogAt = this.now();
    const h = this.halt?.current();
    if (h?.halted && h.by === 'executor' && h.since !== this.announcedReturn) {
      this.announcedReturn = h.since;
      this.log.info({ halt: h }, 'the watchdog is heard again: its resume can now lift the self-halt');
    }
  }

  private async check(): Promise<void> {
    if (!this.halt || !this.publish || this.checking) return;
    this.checking = true;
    try {
      const d = decideSelfHalt({
        nowMs: this.now(),
        phase: this.deps.market().phase,
        halted: this.halt.current().halted,
        afterMs: this.deps.afterMs,
        watchdogAt: this.watchdogAt,
        freshBarAt: this.freshBarAt,
        countingSince: this.countingSince,
      });
      this.countingSince = d.countingSince;
      if (d.halt) await this.selfHalt(this.halt, this.publish, d.halt);
    } finally {
      this.checking = false;
    }
  }

  private async selfHalt(halt: HaltSwitch, publish: PublishOrderEvent, reason: string): Promise<void> {
    this.selfHalts.inc();
    const heard = { watchdogAt: iso(this.watchdogAt), freshBarAt: iso(this.freshBarAt) };
    this.log.error(
      { reason, ...heard },
      'halting myself: a person must resume (cmd.executor.resume, "by":"person"), or the watchdog once it is heard again',
    );
    try {
      await halt.halt(reason, null, 'executor');
    } catch (err) {
      this.errors.inc({ step: 'save' });
      this.log.error(
        { err },
        'self-halted in this process, but the halt could not be saved: it will not survive a restart',
      );
    }
    try {
      await publish({ event: 'halted', symbol: null, side: null, qty: 0, reason });
    } catch (err) {
      this.errors.inc({ step: 'announce' });
      this.log.error(
        { err },
        'self-halted, but the order event could not be published; `nats kv get executor_state halt` shows it',
      );
    }
  }
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
