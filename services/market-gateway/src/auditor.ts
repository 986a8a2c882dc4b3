import type { AuditReport, Bar, Feed } from '@vigil/contracts';
import type { Logger, Metrics } from '@vigil/service-kit';
import type { WireBar } from './alpaca-messages.js';
import { auditSymbol, auditWindow, type AuditWindow } from './audit.js';
import { barFromWire, type RejectBar } from './bars.js';
import type { BarPublisher } from './publisher.js';
import { type BarsSource, fetchBars } from './rest-bars.js';
import type { StoredBars } from './stored-bars.js';

export interface AuditorDeps {
  /** Its `maxSymbolsPerRequest` also sizes the groups the audit checks one at a time. */
  bars: BarsSource;
  publisher: BarPublisher;
  stored: StoredBars;
  /** The symbols to keep complete, as they are now (under SYMBOLS=* the universe grows). */
  symbols: () => readonly string[];
  feed: Feed;
  /** Wall ms between audits. */
  intervalMs: number;
  /** Broker ms of history compared each time. */
  windowMs: number;
  /** Broker ms after a bar's end before it is compared (its late-trade correction may still come live). */
  lagMs: number;
  rejectBar: RejectBar;
  brokerNow: () => number;
  now?: () => number;
  logger: Logger;
  metrics: Metrics;
}

interface Repairs {
  missing: number;
  revised: number;
}

/**
 * Every `intervalMs`, and after every backfill, compare the stored bars of the last `windowMs` with REST: a bar
 * the stream lacks is stored (source `audit`), one whose values changed is stored as its next revision. Nothing
 * here trusts a clock estimate to say a minute is done: REST's answer and the stream's dedup do. Repairs are
 * logged, counted (`gateway_audit_repairs_total{kind}`) and reported in the heartbeat for the watchdog.
 */
export class Auditor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again: string | null = null;
  private stopped = false;
  private lastAuditAt: number | null = null;
  private readonly totals: Repairs = { missing: 0, revised: 0 };
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly m;

  constructor(private readonly deps: AuditorDeps) {
    this.now = deps.now ?? Date.now;
    this.log = deps.logger.child({ component: 'audit' });
    this.m = {
      audits: deps.metrics.counter('gateway_audits_total', 'Audits of stored bars against REST, by outcome', [
        'outcome',
      ]),
      repairs: deps.metrics.counter(
        'gateway_audit_repairs_total',
        'Bars the audit stored: missing from the stream, or revised values',
        ['kind'],
      ),
    };
  }

  start(): void {
    this.timer = setInterval(() => this.trigger('interval'), this.deps.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** Audit now, or once more after the audit in flight (a backfill may have landed meanwhile). */
  trigger(reason: string): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = reason;
      return;
    }
    this.running = this.run(reason).finally(() => {
      this.running = null;
      const next = this.again;
      this.again = null;
      if (next) this.trigger(next);
    });
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  report(): AuditReport {
    return {
      lastAuditAt: this.lastAuditAt === null ? null : new Date(this.lastAuditAt).toISOString(),
      ...this.totals,
    };
  }

  private async run(reason: string): Promise<void> {
    try {
      const repairs = await this.auditOnce();
      this.lastAuditAt = this.now();
      this.m.audits.inc({ outcome: repairs.missing + repairs.revised > 0 ? 'repaired' : 'clean' });
    } catch (err) {
      this.m.audits.inc({ outcome: 'failed' });
      this.log.warn({ err, reason }, 'audit of stored bars failed; the next one runs at the usual interval');
    }
  }

  private async auditOnce(): Promise<Repairs> {
    const { stored } = this.deps;
    const brokerNowMs = this.deps.brokerNow();
    const window = auditWindow(brokerNowMs, this.deps.windowMs, this.deps.lagMs);
    if (!window) return { missing: 0, revised: 0 };
    stored.prune(window.start);
    const repairs: Repairs = { missing: 0, revised: 0 };
    const found: Record<string, { missing: string[]; revised: string[] }> = {};
    let checked = 0;
    // One group of symbols at a time: an hour of bars for every symbol of SYMBOLS=* would not fit in memory at once.
    const symbols = this.deps.symbols();
    const perGroup = this.deps.bars.maxSymbolsPerRequest ?? Number.POSITIVE_INFINITY;
    for (let i = 0; i < symbols.length; i += perGroup) {
      checked += await this.auditGroup(symbols.slice(i, i + perGroup), window, brokerNowMs, repairs, found);
    }
    const window_ = { from: new Date(window.start).toISOString(), through: new Date(window.through).toISOString() };
    if (repairs.missing + repairs.revised > 0)
      this.log.warn(
        { ...window_, repairs: found, checked },
        'audit repaired stored bars: REST had bars the stream missed or changed; stored them',
      );
    else this.log.debug({ ...window_, checked }, 'audit: stored bars match REST');
    return repairs;
  }

  /** Audits one group of symbols against one REST answer; returns how many bars it checked. */
  private async auditGroup(
    symbols: readonly string[],
    window: AuditWindow,
    brokerNowMs: number,
    repairs: Repairs,
    found: Record<string, { missing: string[]; revised: string[] }>,
  ): Promise<number> {
    const { publisher, stored, feed, bars } = this.deps;
    const answer = await fetchBars(bars.stocks, {
      symbols,
      start: window.start,
      end: window.through,
      feed,
      ...(bars.beforeRequest ? { beforeRequest: bars.beforeRequest } : {}),
    });
    for (const bad of answer.invalid) this.deps.rejectBar(bad.symbol, 'audit', bad.raw, bad.error);
    const receivedAt = new Date(brokerNowMs);
    const asBar = (wire: WireBar, symbol: string): Bar | null => {
      const converted = barFromWire(wire, symbol, 'audit', feed, receivedAt);
      if (converted.ok) return converted.bar;
      this.deps.rejectBar(symbol, 'audit', wire, converted.error);
      return null;
    };

    const note = (symbol: string, kind: keyof Repairs, t: string) => {
      found[symbol] ??= { missing: [], revised: [] };
      found[symbol][kind].push(t);
      repairs[kind] += 1;
      this.totals[kind] += 1;
      this.m.repairs.inc({ kind });
    };
    const checks: Promise<void>[] = [];
    for (const symbol of symbols) {
      const findings = auditSymbol(
        answer.bars.get(symbol) ?? [],
        stored.minutes(symbol),
        publisher.lastStored().get(symbol),
        window,
      );
      // Minutes up to the newest stored bar go outside the ordering rules (the stream's dedup decides); later
      // ones through them. Either way the ack says whether it was a hole.
      const checked = [
        ...findings.unconfirmed.map((wire) => [wire, (bar: Bar) => publisher.offerRepair(bar)] as const),
        ...findings.beyond.map((wire) => [wire, (bar: Bar) => publisher.offerConfirmed(bar)] as const),
      ];
      for (const [wire, send] of checked) {
        const bar = asBar(wire, symbol);
        if (bar) checks.push(send(bar).then((hole) => (hole ? note(symbol, 'missing', bar.t) : undefined)));
      }
      for (const wire of findings.revised) {
        const bar = asBar(wire, symbol);
        if (bar && publisher.offerCorrection(bar) === 'queued') note(symbol, 'revised', bar.t);
      }
    }
    await Promise.all(checks);
    return checks.length;
  }
}
