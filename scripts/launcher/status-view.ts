import type { NatsConnection } from '@nats-io/transport-node';
import { Alert, Bar, barEnd, decodeOn, GatewayHeartbeat, HealthReport, OrderEvent, subjects } from '@vigil/contracts';
import * as z from 'zod';
import type { ServiceProcess } from './processes.js';

export interface StatusSources {
  mode: string;
  watchdogUrl: string;
  logDir: string;
  processes: ServiceProcess[];
  simClock?: () => string;
  /** The broker's clock in ms (the simulator's); absent on Alpaca, where the view has no clock read of its own. */
  brokerNow?: () => number;
}

/** The services whose health reports the view lists even before the first one arrives. */
const SERVICES = ['market-gateway', 'strategy', 'executor', 'watchdog'];
/** A service silent this long shows as SILENT: the watchdog's SERVICE_DOWN_AFTER_MS default. */
const SILENT_AFTER_MS = 30_000;

/** A service's newest health report and when it arrived (this machine's clock). */
export interface Heard {
  report: HealthReport;
  receivedAt: number;
}

/** One service's liveness: what it last said of itself, or that it has gone silent. */
export function healthLine(service: string, heard: Heard | undefined, now: number, silentAfterMs: number): string {
  const name = service.padEnd(15);
  if (!heard) return `${name}no health report yet`;
  const r = heard.report;
  const age = Math.max(0, now - heard.receivedAt);
  if (age >= silentAfterMs) return `${name}SILENT: no health report for ${ago(age)} (its last said ${r.status})`;
  const notes = r.notes.length ? ` — ${r.notes.join('; ')}` : '';
  return `${name}${r.status} ${r.version}, reported ${ago(age)} ago, up ${ago(r.uptimeSec * 1000)}${notes}`;
}

/** The part of the watchdog's `/api/status` the view shows: the broker's book as the watchdog last read it. */
export const WatchdogBook = z.object({
  broker: z
    .object({
      readAgeMs: z.number(),
      positions: z
        .array(z.object({ symbol: z.string(), qty: z.number(), unrealizedIntradayPl: z.number().nullable() }))
        .nullable(),
      orders: z.array(z.object({ symbol: z.string(), side: z.string(), qty: z.number().nullable() })).nullable(),
      account: z.object({ dayPl: z.number(), equity: z.number() }).nullable(),
    })
    .nullable(),
});
export type WatchdogBook = z.infer<typeof WatchdogBook>;

/** `+$1.50`, `−$2.00`: a P&L figure. */
export const signedMoney = (x: number): string => `${x > 0 ? '+' : x < 0 ? '−' : ''}$${Math.abs(x).toFixed(2)}`;

/**
 * Positions, open orders and today's P&L as the watchdog last read them from the broker, `askedMsAgo` after the
 * view asked it; `unknown` for whatever it could not read, or everything when the view cannot reach the
 * watchdog (never an older figure).
 */
export function bookLines(book: WatchdogBook | null, error: string | null, askedMsAgo: number): string[] {
  if (!book) return [`broker         unknown: ${error ?? 'asking the watchdog'}`];
  const b = book.broker;
  if (!b) return ['broker         unknown: the watchdog has not read the broker yet'];
  const pl = b.account
    ? `${signedMoney(b.account.dayPl)} (equity $${b.account.equity.toFixed(2)} − last close's: realised and unrealised)`
    : 'unknown (the account read failed)';
  const positions = b.positions
    ? b.positions.length === 0
      ? 'none'
      : b.positions
          .map(
            (p) =>
              `${p.symbol} ${p.qty}${p.unrealizedIntradayPl === null ? '' : ` (${signedMoney(p.unrealizedIntradayPl)} today)`}`,
          )
          .join(', ')
    : 'unknown (the read failed)';
  const orders = b.orders
    ? b.orders.length === 0
      ? 'none'
      : b.orders.map((o) => `${o.side} ${o.qty ?? 'notional'} ${o.symbol}`).join(', ')
    : 'unknown (the read failed)';
  return [
    `day P&L        ${pl}, read by the watchdog ${ago(b.readAgeMs + askedMsAgo)} ago`,
    `positions      ${positions}`,
    `open orders    ${orders}`,
  ];
}

/** `1.2 s`, or `3.5 min` once seconds stop being readable at a glance. */
export function ago(ms: number): string {
  return ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}

/** The bar with the latest start among those named, or null for none. */
export function newestBar<B extends Pick<Bar, 't'>>(bars: (B | null | undefined)[]): B | null {
  let newest: B | null = null;
  for (const b of bars) if (b && (!newest || Date.parse(b.t) > Date.parse(newest.t))) newest = b;
  return newest;
}

/**
 * How old the newest bar is. By broker time, from the bar's end to the broker's now, as the strategy and
 * the watchdog judge freshness, when the view has the broker's clock; otherwise only how long ago the
 * gateway last received a bar, on this machine's clock (the gateway's, since it runs here), and it says so.
 */
export function lastBarAge(
  newest: Pick<Bar, 't'> | null,
  brokerNow: number | null,
  lastBarAt: string | null,
  now: number,
): string {
  // Clamped at 0: a bar cannot end after now, so a negative figure would only be clock skew.
  if (newest && brokerNow !== null)
    return `${ago(Math.max(0, brokerNow - barEnd(newest).getTime()))} since the newest bar ended (broker time)`;
  if (lastBarAt)
    return `${ago(Math.max(0, now - Date.parse(lastBarAt)))} since the gateway received a bar (this machine's clock; no broker clock in this view)`;
  return 'no bar yet';
}

/**
 * One live view of the running system, fed only by what crosses NATS (the same view an operator gets
 * with `nats sub`): gateway state, bars per minute, last bar age, reconnects, alerts and orders.
 */
export class StatusView {
  private heartbeat: GatewayHeartbeat | null = null;
  private heartbeatAt = 0;
  private barTimes: number[] = [];
  private lastBar: Bar | null = null;
  private newest: Bar | null = null;
  private alerts: Alert[] = [];
  private orders: OrderEvent[] = [];
  private orderCount = 0;
  private readonly health = new Map<string, Heard>();
  private book: WatchdogBook | null = null;
  private askedAt = 0;
  private bookError: string | null = null;
  private asking = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly sources: StatusSources,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {}

  start(): void {
    this.listen(GatewayHeartbeat, subjects.heartbeat, (v) => {
      this.heartbeat = v;
      this.heartbeatAt = Date.now();
    });
    this.listen(Bar, subjects.bars1mAll, (v) => {
      this.lastBar = v;
      this.newest = newestBar([this.newest, this.lastBar]);
      this.barTimes.push(Date.now());
    });
    this.listen(Alert, subjects.alertsAll, (v) => this.alerts.push(v));
    this.listen(OrderEvent, subjects.ordersAll, (v) => {
      this.orderCount += 1;
      this.orders.push(v);
    });
    this.listen(HealthReport, subjects.healthAll, (v) =>
      this.health.set(v.service, { report: v, receivedAt: Date.now() }),
    );
    const interactive = Boolean(this.out.isTTY);
    void this.askWatchdog();
    this.timer = setInterval(
      () => {
        this.render(interactive);
        void this.askWatchdog();
      },
      interactive ? 1000 : 15_000,
    );
  }

  /** Reads the broker's book from the watchdog's status; a failed read leaves it unknown until the next one. */
  async askWatchdog(): Promise<void> {
    if (this.asking) return;
    this.asking = true;
    try {
      const res = await fetch(new URL('api/status', this.sources.watchdogUrl), { signal: AbortSignal.timeout(2000) });
      if (!res.ok) throw new Error(`the watchdog answered HTTP ${res.status}`);
      const parsed = WatchdogBook.safeParse(await res.json());
      if (!parsed.success) throw new Error(`unexpected status JSON: ${z.prettifyError(parsed.error)}`);
      this.book = parsed.data;
      this.askedAt = Date.now();
      this.bookError = null;
    } catch (err) {
      this.book = null;
      this.bookError = `cannot read the watchdog's status (${err instanceof Error ? err.message : String(err)})`;
    } finally {
      this.asking = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Show each message decoded as `schema` on the subject it came on; skip one that does not decode. */
  private listen<S extends z.ZodType>(schema: S, subject: string, on: (value: z.infer<S>) => void): void {
    const sub = this.nc.subscribe(subject);
    void (async () => {
      for await (const m of sub) {
        const decoded = decodeOn(schema, m.subject, m.data);
        if (decoded.ok) on(decoded.value);
      }
    })();
  }

  lines(now = Date.now()): string[] {
    this.barTimes = this.barTimes.filter((t) => now - t <= 60_000);
    this.alerts = this.alerts.slice(-5);
    this.orders = this.orders.slice(-3);
    const hb = this.heartbeat;
    const hbAge = hb ? `${((now - this.heartbeatAt) / 1000).toFixed(1)} s ago` : 'none yet';
    // The heartbeat's per-symbol starts cover bars published before the view subscribed.
    const newest = newestBar<Pick<Bar, 't'>>([
      this.newest,
      ...Object.values(hb?.lastBarTBySymbol ?? {}).map((t) => ({ t })),
    ]);
    const barAge = lastBarAge(newest, this.sources.brokerNow?.() ?? null, hb?.lastBarAt ?? null, now);
    const out = [
      `Vigil — ${this.sources.mode}${this.sources.simClock ? `   market time ${this.sources.simClock()}` : ''}`,
      `watchdog page  ${this.sources.watchdogUrl}     logs ${this.sources.logDir}/`,
      '',
      `gateway        ${hb ? `${hb.state} — ${hb.reason}` : 'no heartbeat yet'} (heartbeat ${hbAge})`,
      `market         ${hb ? (hb.marketOpen === null ? 'unknown' : hb.marketOpen ? 'open' : 'closed') : '-'}`,
      `data path      ${hb ? dataPathLine(hb) : '-'}`,
      `bars           ${this.barTimes.length} in the last minute; last ${this.lastBar ? `${this.lastBar.symbol} ${this.lastBar.t.slice(11, 16)}Z (${this.lastBar.source})` : 'none yet'}`,
      `last bar age   ${barAge}`,
      `reconnects     ${hb?.reconnects ?? 0}`,
      `orders         ${this.orderCount}${this.orders.map((o) => `\n               ${o.at.slice(11, 19)} ${o.event}${o.symbol ? ` ${o.side} ${o.qty} ${o.symbol}` : ''}${o.barSource ? ` on a ${o.barSource} bar` : ''}${o.reason ? ` (${o.reason})` : ''}`).join('')}`,
      `alerts         ${this.alerts.length === 0 ? 'none' : ''}${this.alerts.map((a) => `\n               ${a.at.slice(11, 19)} ${a.severity} ${a.kind} ${a.status}: ${a.message}`).join('')}`,
      ...bookLines(this.book, this.bookError, now - this.askedAt),
      '',
      ...[...new Set([...SERVICES, ...this.health.keys()])].map(
        (s, i) =>
          `${i === 0 ? 'health         ' : '               '}${healthLine(s, this.health.get(s), now, SILENT_AFTER_MS)}`,
      ),
      `services       ${this.sources.processes.map((p) => `${p.plan.name} ${p.state}${p.restarts ? ` (${p.restarts} restarts, last exit ${p.lastExit})` : ''}`).join(' · ')}`,
      'Ctrl-C stops everything.',
    ];
    return out;
  }

  private render(interactive: boolean): void {
    const text = this.lines().join('\n');
    this.out.write(interactive ? `\x1b[2J\x1b[H${text}\n` : `${new Date().toISOString()}\n${text}\n\n`);
  }
}

/** How bars reach the bus, and for how long the live stream has been down (the gateway's own clock). */
export function dataPathLine(hb: Pick<GatewayHeartbeat, 'dataPath' | 'liveDownSince' | 'sentAt'>): string {
  if (hb.liveDownSince === null) return hb.dataPath === 'backfill' ? 'live, a REST backfill in progress' : 'live';
  const downS = ((Date.parse(hb.sentAt) - Date.parse(hb.liveDownSince)) / 1000).toFixed(1);
  return `${hb.dataPath === 'polling' ? 'REST polling' : 'nothing arriving'}: live stream down ${downS} s`;
}
