import type { NatsConnection } from '@nats-io/transport-node';
import { barEnd, decode, subjects, type Alert, type Bar, type GatewayHeartbeat, type OrderEvent } from '@vigil/contracts';
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
export function lastBarAge(newest: Pick<Bar, 't'> | null, brokerNow: number | null, lastBarAt: string | null, now: number): string {
  // Clamped at 0: a bar cannot end after now, so a negative figure would only be clock skew.
  if (newest && brokerNow !== null) return `${ago(Math.max(0, brokerNow - barEnd(newest).getTime()))} since the newest bar ended (broker time)`;
  if (lastBarAt) return `${ago(Math.max(0, now - Date.parse(lastBarAt)))} since the gateway received a bar (this machine's clock; no broker clock in this view)`;
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
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly sources: StatusSources,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {}

  start(): void {
    this.listen(subjects.heartbeat, (v) => {
      this.heartbeat = v as GatewayHeartbeat;
      this.heartbeatAt = Date.now();
    });
    this.listen(subjects.bars1mAll, (v) => {
      this.lastBar = v as Bar;
      this.newest = newestBar([this.newest, this.lastBar]);
      this.barTimes.push(Date.now());
    });
    this.listen(subjects.alertsAll, (v) => this.alerts.push(v as Alert));
    this.listen(subjects.ordersAll, (v) => {
      this.orderCount += 1;
      this.orders.push(v as OrderEvent);
    });
    const interactive = Boolean(this.out.isTTY);
    this.timer = setInterval(() => this.render(interactive), interactive ? 1000 : 15_000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private listen(subject: string, on: (value: unknown) => void): void {
    const sub = this.nc.subscribe(subject);
    void (async () => {
      for await (const m of sub) {
        const decoded = decode(m.subject, m.data);
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
    const newest = newestBar<Pick<Bar, 't'>>([this.newest, ...Object.values(hb?.lastBarTBySymbol ?? {}).map((t) => ({ t }))]);
    const barAge = lastBarAge(newest, this.sources.brokerNow?.() ?? null, hb?.lastBarAt ?? null, now);
    const out = [
      `Vigil — ${this.sources.mode}${this.sources.simClock ? `   market time ${this.sources.simClock()}` : ''}`,
      `watchdog page  ${this.sources.watchdogUrl}     logs ${this.sources.logDir}/`,
      '',
      `gateway        ${hb ? `${hb.state} — ${hb.reason}` : 'no heartbeat yet'} (heartbeat ${hbAge})`,
      `market         ${hb ? (hb.marketOpen === null ? 'unknown' : hb.marketOpen ? 'open' : 'closed') : '-'}${hb?.polling ? '   polling REST during outage' : ''}`,
      `bars           ${this.barTimes.length} in the last minute; last ${this.lastBar ? `${this.lastBar.symbol} ${this.lastBar.t.slice(11, 16)}Z (${this.lastBar.source})` : 'none yet'}`,
      `last bar age   ${barAge}`,
      `reconnects     ${hb?.reconnects ?? 0}`,
      `orders         ${this.orderCount}${this.orders.map((o) => `\n               ${o.at.slice(11, 19)} ${o.event} ${o.side} ${o.qty} ${o.symbol}${o.reason ? ` (${o.reason})` : ''}`).join('')}`,
      `alerts         ${this.alerts.length === 0 ? 'none' : ''}${this.alerts.map((a) => `\n               ${a.at.slice(11, 19)} ${a.severity} ${a.kind} ${a.status}: ${a.message}`).join('')}`,
      '',
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
