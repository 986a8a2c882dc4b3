import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Bar, bar1mSubject, encode, GatewayHeartbeat, subjects } from '@vigil/contracts';
import { startNats, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ago, lastBarAge, newestBar, StatusView } from './status-view.js';

const at = (iso: string) => Date.parse(iso);

describe('last bar age', () => {
  it('is measured from the newest bar\'s end to the broker\'s now', () => {
    const newest = newestBar([{ t: '2026-01-06T14:30:00.000Z' }, { t: '2026-01-06T14:31:00.000Z' }, null]);
    expect(newest).toEqual({ t: '2026-01-06T14:31:00.000Z' });
    expect(lastBarAge(newest, at('2026-01-06T14:32:01.500Z'), '2026-11-29T06:00:00.000Z', 0)).toBe('1.5 s since the newest bar ended (broker time)');
    expect(lastBarAge(newest, at('2026-01-06T14:41:00.000Z'), null, 0)).toBe('9.0 min since the newest bar ended (broker time)');
  });

  it('without a broker clock, says it is the gateway\'s receipt time on this machine\'s clock', () => {
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
    const view = new StatusView(nc, { mode: 'simulator', watchdogUrl: 'http://127.0.0.1:1/', logDir: '/tmp', processes: [], brokerNow: () => brokerNow }, sink);
    view.start();
    await nc.flush();
    try {
      const hb: GatewayHeartbeat = {
        v: 1, service: 'market-gateway', instanceId: 'market-gateway-1', seq: 1, sentAt: '2026-11-29T06:00:00.000Z', state: 'streaming',
        reason: 'subscription confirmed for every symbol', marketOpen: true, symbols: ['SPY', 'AAPL'], connectedSince: null,
        lastMessageAt: null, lastBarAt: '2026-11-29T06:00:00.000Z', lastBarTBySymbol: { SPY: '2026-01-06T14:31:00.000Z', AAPL: '2026-01-06T14:30:00.000Z' },
        barsLastMinute: 2, reconnects: 0, uptimePct: 100, polling: false, bufferedBars: 0, bufferFill: 0,
      };
      nc.publish(subjects.heartbeat, encode(GatewayHeartbeat, hb));
      const line = async (prefix: string, want: RegExp) => {
        for (let i = 0; i < 100 && !view.lines().some((l) => l.startsWith(prefix) && want.test(l)); i++) await sleep(50);
        return view.lines().find((l) => l.startsWith(prefix));
      };
      expect(await line('last bar age', /62\.0 s since/)).toBe('last bar age   62.0 s since the newest bar ended (broker time)');
      // A bar newer than the heartbeat knows of counts at once; an older one arriving later does not.
      const bar = (symbol: string, t: string) =>
        encode(Bar, { v: 1, symbol, t, open: 1, high: 1, low: 1, close: 1, volume: 1, tradeCount: 1, vwap: 1, revision: 0, source: 'live', feed: 'iex', receivedAt: '2026-11-29T06:00:01.000Z' });
      nc.publish(bar1mSubject('QQQ'), bar('QQQ', '2026-01-06T14:32:00.000Z'));
      nc.publish(bar1mSubject('MSFT'), bar('MSFT', '2026-01-06T14:29:00.000Z'));
      expect(await line('bars', /last MSFT 14:29Z/)).toMatch(/2 in the last minute/);
      expect(await line('last bar age', /./)).toBe('last bar age   2.0 s since the newest bar ended (broker time)');
    } finally {
      view.stop();
    }
  });
});
