import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Bar, bar1mSubject, encode, GatewayHeartbeat, HealthReport, healthSubject, subjects } from '@vigil/contracts';
import { startNats, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@vigil/service-kit/testing';
import {
  ago,
  bookLines,
  dataPathLine,
  healthLine,
  lastBarAge,
  newestBar,
  StatusView,
  type WatchdogBook,
} from './status-view.js';

const at = (iso: string) => Date.parse(iso);

describe('data path line', () => {
  it('says how bars arrive and how long the live stream has been down', () => {
    const sentAt = '2026-01-06T14:33:00.000Z';
    expect(dataPathLine({ dataPath: 'live', liveDownSince: null, sentAt })).toBe('live');
    expect(dataPathLine({ dataPath: 'backfill', liveDownSince: null, sentAt })).toBe(
      'live, a REST backfill in progress',
    );
    expect(dataPathLine({ dataPath: 'polling', liveDownSince: '2026-01-06T14:31:30.000Z', sentAt })).toBe(
      'REST polling: live stream down 90.0 s',
    );
    expect(dataPathLine({ dataPath: 'none', liveDownSince: '2026-01-06T14:32:58.000Z', sentAt })).toBe(
      'nothing arriving: live stream down 2.0 s',
    );
  });
});

describe('last bar age', () => {
  it("is measured from the newest bar's end to the broker's now", () => {
    const newest = newestBar([{ t: '2026-01-06T14:30:00.000Z' }, { t: '2026-01-06T14:31:00.000Z' }, null]);
    expect(newest).toEqual({ t: '2026-01-06T14:31:00.000Z' });
    expect(lastBarAge(newest, at('2026-01-06T14:32:01.500Z'), '2026-11-29T06:00:00.000Z', 0)).toBe(
      '1.5 s since the newest bar ended (broker time)',
    );
    expect(lastBarAge(newest, at('2026-01-06T14:41:00.000Z'), null, 0)).toBe(
      '9.0 min since the newest bar ended (broker time)',
    );
  });

  it("without a broker clock, says it is the gateway's receipt time on this machine's clock", () => {
    const now = at('2026-11-29T06:00:03.200Z');
    expect(lastBarAge({ t: '2026-01-06T14:31:00.000Z' }, null, '2026-11-29T06:00:00.000Z', now)).toBe(
      "3.2 s since the gateway received a bar (this machine's clock; no broker clock in this view)",
    );
    expect(lastBarAge(null, 0, null, now)).toBe('no bar yet');
  });

  it('reads seconds, then minutes', () => {
    expect(ago(119_900)).toBe('119.9 s');
    expect(ago(180_000)).toBe('3.0 min');
  });
});

const report = (service: string, over: Partial<HealthReport> = {}): HealthReport => ({
  v: 1,
  service,
  instanceId: `${service}-1`,
  version: '0.1.0',
  at: '2026-11-29T06:00:00.000Z',
  status: 'ok',
  uptimeSec: 300,
  figures: {},
  notes: [],
  ...over,
});

describe('health line', () => {
  it('says what the service last reported, and SILENT once it stops reporting', () => {
    const heard = { report: report('executor', { status: 'degraded', notes: ['halted'] }), receivedAt: 1_000 };
    expect(healthLine('executor', heard, 3_500, 30_000)).toBe(
      'executor       degraded 0.1.0, reported 2.5 s ago, up 5.0 min — halted',
    );
    expect(healthLine('executor', heard, 31_000, 30_000)).toBe(
      'executor       SILENT: no health report for 30.0 s (its last said degraded)',
    );
    expect(healthLine('strategy', undefined, 0, 30_000)).toBe('strategy       no health report yet');
  });
});

describe('book lines', () => {
  const book: WatchdogBook = {
    broker: {
      readAgeMs: 1_000,
      positions: [{ symbol: 'SPY', qty: 20, unrealizedIntradayPl: -12.5 }],
      orders: [{ symbol: 'AAPL', side: 'buy', qty: 5 }],
      account: { dayPl: 250.75, equity: 100_250.75 },
    },
  };

  it("shows the positions, open orders and today's P&L the watchdog read, and how long ago", () => {
    expect(bookLines(book, null, 500)).toEqual([
      "day P&L        +$250.75 (equity $100250.75 − last close's: realised and unrealised), read by the watchdog 1.5 s ago",
      'positions      SPY 20 (−$12.50 today)',
      'open orders    buy 5 AAPL',
    ]);
  });

  it('shows unknown for what could not be read, never an older figure', () => {
    const failed = bookLines({ broker: { ...book.broker!, positions: null, orders: null, account: null } }, null, 0);
    expect(failed).toEqual([
      'day P&L        unknown (the account read failed), read by the watchdog 1.0 s ago',
      'positions      unknown (the read failed)',
      'open orders    unknown (the read failed)',
    ]);
    expect(bookLines(null, "cannot read the watchdog's status (fetch failed)", 0)).toEqual([
      "broker         unknown: cannot read the watchdog's status (fetch failed)",
    ]);
    expect(bookLines({ broker: null }, null, 0)).toEqual([
      'broker         unknown: the watchdog has not read the broker yet',
    ]);
  });
});

describe('status view over NATS', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNats({ jetstream: false });
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.cleanup();
  });

  it('shows the age of the newest bar, from the heartbeat or the bars seen, by broker time', async () => {
    const brokerNow = at('2026-01-06T14:33:02.000Z');
    const sink = new Writable({ write: (_c, _e, cb) => cb() }) as unknown as NodeJS.WriteStream;
    const view = new StatusView(
      nc,
      {
        mode: 'simulator',
        watchdogUrl: 'http://127.0.0.1:1/',
        logDir: '/tmp',
        processes: [],
        brokerNow: () => brokerNow,
      },
      sink,
    );
    view.start();
    await nc.flush();
    try {
      const hb: GatewayHeartbeat = {
        v: 1,
        service: 'market-gateway',
        instanceId: 'market-gateway-1',
        seq: 1,
        sentAt: '2026-11-29T06:00:00.000Z',
        state: 'streaming',
        reason: 'subscription confirmed for every symbol',
        marketOpen: true,
        symbols: ['SPY', 'AAPL'],
        connectedSince: null,
        lastMessageAt: null,
        lastBarAt: '2026-11-29T06:00:00.000Z',
        lastBarTBySymbol: { SPY: '2026-01-06T14:31:00.000Z', AAPL: '2026-01-06T14:30:00.000Z' },
        barsLastMinute: 2,
        reconnects: 0,
        uptimePct: 100,
        polling: false,
        bufferedBars: 0,
        bufferFill: 0,
        audit: { lastAuditAt: null, missing: 0, revised: 0 },
        dataPath: 'live',
        dataPathSince: '2026-11-29T05:00:00.000Z',
        liveDownSince: null,
      };
      nc.publish(subjects.heartbeat, encode(GatewayHeartbeat, hb));
      const line = async (prefix: string, want: RegExp) => {
        for (let i = 0; i < 100 && !view.lines().some((l) => l.startsWith(prefix) && want.test(l)); i++)
          await sleep(50);
        return view.lines().find((l) => l.startsWith(prefix));
      };
      expect(await line('last bar age', /62\.0 s since/)).toBe(
        'last bar age   62.0 s since the newest bar ended (broker time)',
      );
      // A bar newer than the heartbeat knows of counts at once; an older one arriving later does not.
      const bar = (symbol: string, t: string) =>
        encode(Bar, {
          v: 1,
          symbol,
          t,
          open: 1,
          high: 1,
          low: 1,
          close: 1,
          volume: 1,
          tradeCount: 1,
          vwap: 1,
          revision: 0,
          source: 'live',
          feed: 'iex',
          receivedAt: '2026-11-29T06:00:01.000Z',
        });
      nc.publish(bar1mSubject('QQQ'), bar('QQQ', '2026-01-06T14:32:00.000Z'));
      nc.publish(bar1mSubject('MSFT'), bar('MSFT', '2026-01-06T14:29:00.000Z'));
      expect(await line('bars', /last MSFT 14:29Z/)).toMatch(/2 in the last minute/);
      expect(await line('last bar age', /./)).toBe('last bar age   2.0 s since the newest bar ended (broker time)');
    } finally {
      view.stop();
    }
  });

  it("shows each service's health from health.> and the book from the watchdog's status", async () => {
    let status: unknown = { broker: null };
    const http = createServer((req, res) => {
      if (req.url !== '/api/status') return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(status));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const sink = new Writable({ write: (_c, _e, cb) => cb() }) as unknown as NodeJS.WriteStream;
    const view = new StatusView(
      nc,
      {
        mode: 'simulator',
        watchdogUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`,
        logDir: '/tmp',
        processes: [],
      },
      sink,
    );
    view.start();
    await nc.flush();
    try {
      // A line naming `what` (a service's padded name, or a line's label) that says `want`.
      const line = (what: string, want: RegExp) =>
        waitFor(`${what} ${want}`, () => view.lines().find((l) => l.includes(what) && want.test(l)), {
          timeoutMs: 5000,
          intervalMs: 50,
        });
      nc.publish(healthSubject('executor'), encode(HealthReport, report('executor', { status: 'degraded' })));
      nc.publish(healthSubject('watchdog'), encode(HealthReport, report('watchdog')));
      expect(await line('executor       ', /degraded/)).toMatch(/^ {15}executor {7}degraded 0\.1\.0, reported/);
      expect(await line('watchdog       ', /ok/)).toMatch(/watchdog {7}ok 0\.1\.0/);
      expect(view.lines().find((l) => l.startsWith('health'))).toBe(
        'health         market-gateway no health report yet',
      );

      expect(await line('broker ', /not read the broker yet/)).toBeTruthy();
      status = {
        broker: {
          readAgeMs: 0,
          positions: [{ symbol: 'SPY', qty: 20, unrealizedIntradayPl: 3 }],
          orders: [],
          account: { dayPl: -4, equity: 99_996 },
        },
      };
      await view.askWatchdog();
      expect(view.lines().find((l) => l.startsWith('positions'))).toBe('positions      SPY 20 (+$3.00 today)');
      expect(view.lines().find((l) => l.startsWith('day P&L'))).toMatch(/^day P&L {8}−\$4\.00 \(equity \$99996\.00/);

      http.close();
      http.closeAllConnections();
      await view.askWatchdog();
      expect(view.lines().find((l) => l.startsWith('broker'))).toMatch(
        /^broker {9}unknown: cannot read the watchdog's status/,
      );
      expect(view.lines().some((l) => l.startsWith('positions'))).toBe(false);
    } finally {
      view.stop();
      http.close();
    }
  });
});
