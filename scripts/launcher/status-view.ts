import type { NatsConnection } from '@nats-io/transport-node';
import { decode, subjects, type Alert, type Bar, type GatewayHeartbeat, type OrderEvent } from '@vigil/contracts';
import type { ServiceProcess } from './processes.js';

export interface StatusSources {
  mode: string;
  watchdogUrl: string;
  logDir: string;
  processes: ServiceProcess[];
  simClock?: () => string;
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
    const out = [
      `Vigil — ${this.sources.mode}${this.sources.simClock ? `   market time ${this.sources.simClock()}` : ''}`,
      `watchdog page  ${this.sources.watchdogUrl}     logs ${this.sources.logDir}/`,
      '',
      `gateway        ${hb ? `${hb.state} — ${hb.reason}` : 'no heartbeat yet'} (heartbeat ${hbAge})`,
      `market         ${hb ? (hb.marketOpen === null ? 'unknown' : hb.marketOpen ? 'open' : 'closed') : '-'}${hb?.polling ? '   polling REST during outage' : ''}`,
      `bars           ${this.barTimes.length} in the last minute; last ${this.lastBar ? `${this.lastBar.symbol} ${this.lastBar.t.slice(11, 16)}Z (${this.lastBar.source})` : 'none yet'}`,
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
