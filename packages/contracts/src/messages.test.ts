import type * as z from 'zod';
import { describe, expect, it } from 'vitest';
import { decode, decodeAs, encode } from './codec.js';
import { commands } from './commands.js';
import { ContractError } from './errors.js';
import { validBar } from '../test/fixtures.js';
import { Alert } from './messages/alert.js';
import { Bar } from './messages/bar.js';
import {
  ExecutorFlattenReply,
  ExecutorFlattenRequest,
  ExecutorHaltReply,
  ExecutorHaltRequest,
  ExecutorResumeRequest,
  GatewayReconnectReply,
  GatewayReconnectRequest,
  GatewayStatusReply,
  GatewayStatusRequest,
} from './messages/commands.js';
import { HealthReport } from './messages/health.js';
import { GatewayHeartbeat } from './messages/heartbeat.js';
import { OrderEvent } from './messages/order-event.js';
import { Signal, signalId } from './messages/signal.js';
import { StrategyHeartbeat } from './messages/strategy-heartbeat.js';
import { alertSubject, bar1mSubject, healthSubject, orderEventSubject, signalSubject, subjects } from './subjects.js';

const at = '2026-11-27T15:32:00.040Z';
const request = {
  v: 1,
  requestedBy: 'watchdog-1a2b3c4d',
  by: 'watchdog',
  reason: 'no bar for 2.0 min',
  incidentId: 'stale-2026-11-27T15:32:00.000Z',
} as const;
const halt = {
  halted: true,
  since: at,
  reason: 'stale data',
  incidentId: 'stale-2026-11-27T15:32:00.000Z',
  by: 'watchdog',
  flattened: false,
};
const heartbeat = {
  v: 1,
  service: 'market-gateway',
  instanceId: 'market-gateway-1a2b3c4d',
  seq: 42,
  sentAt: at,
  state: 'streaming',
  reason: 'subscribed to every symbol',
  marketOpen: true,
  symbols: ['SPY', 'BRK.B'],
  connectedSince: '2026-11-27T14:30:00Z',
  lastMessageAt: at,
  lastBarAt: at,
  lastBarTBySymbol: { SPY: '2026-11-27T15:31:00Z' },
  barsLastMinute: 2,
  reconnects: 1,
  uptimePct: 99.5,
  polling: false,
  dataPath: 'live',
  dataPathSince: '2026-11-27T14:30:00Z',
  liveDownSince: null,
  bufferedBars: 0,
  bufferFill: 0,
  audit: { lastAuditAt: null, missing: 0, revised: 0 },
} as const;

/** One valid example of every message, with the subject it travels on (replies travel on inboxes). */
const examples: { name: string; schema: z.ZodType; subject: string | null; value: unknown }[] = [
  { name: 'Bar', schema: Bar, subject: bar1mSubject('SPY'), value: validBar },
  { name: 'GatewayHeartbeat', schema: GatewayHeartbeat, subject: subjects.heartbeat, value: heartbeat },
  {
    name: 'GatewayReconnectRequest',
    schema: GatewayReconnectRequest,
    subject: commands.gatewayReconnect.subject,
    value: request,
  },
  {
    name: 'GatewayReconnectReply',
    schema: GatewayReconnectReply,
    subject: null,
    value: { v: 1, ok: true, at, state: 'streaming' },
  },
  {
    name: 'GatewayStatusRequest',
    schema: GatewayStatusRequest,
    subject: commands.gatewayStatus.subject,
    value: { v: 1 },
  },
  {
    name: 'GatewayStatusReply',
    schema: GatewayStatusReply,
    subject: null,
    value: { v: 1, ok: true, at, status: heartbeat },
  },
  { name: 'ExecutorHaltRequest', schema: ExecutorHaltRequest, subject: commands.executorHalt.subject, value: request },
  {
    name: 'ExecutorResumeRequest',
    schema: ExecutorResumeRequest,
    subject: commands.executorResume.subject,
    value: request,
  },
  { name: 'ExecutorHaltReply', schema: ExecutorHaltReply, subject: null, value: { v: 1, ok: true, at, halt } },
  {
    name: 'ExecutorFlattenRequest',
    schema: ExecutorFlattenRequest,
    subject: commands.executorFlatten.subject,
    value: request,
  },
  {
    name: 'ExecutorFlattenReply',
    schema: ExecutorFlattenReply,
    subject: null,
    value: {
      v: 1,
      ok: false,
      at,
      error: 'one close failed; retrying',
      scope: 'vigil',
      closed: [{ symbol: 'SPY', qty: 148, orderId: 'o-1' }],
      failed: [{ symbol: 'AAPL', error: 'HTTP 503' }],
      canceledOrders: 2,
      alreadyFlat: false,
      halt,
    },
  },
  {
    name: 'StrategyHeartbeat',
    schema: StrategyHeartbeat,
    subject: subjects.strategyHeartbeat,
    value: {
      v: 1,
      service: 'strategy',
      instanceId: 'strategy-1a2b3c4d',
      strategy: 'momentum',
      seq: 7,
      sentAt: at,
      lastDecisions: {
        'BRK.B': {
          barT: '2026-11-27T15:31:00Z',
          barSource: 'poll',
          outcome: 'none',
          decidedAt: '2026-11-27T15:32:00.010Z',
          ageMs: 30,
        },
      },
      signalSources: ['live', 'backfill', 'poll'],
    },
  },
  {
    name: 'Signal',
    schema: Signal,
    subject: signalSubject('BRK.B'),
    value: {
      v: 1,
      id: signalId('ma_cross', 'BRK.B', '2026-11-27T15:31:00Z'),
      strategy: 'ma_cross',
      symbol: 'BRK.B',
      side: 'buy',
      qty: 1,
      barT: '2026-11-27T15:31:00Z',
      barSource: 'poll',
      price: 480.5,
      reason: 'fast MA crossed above slow',
      inputs: { fast: 480.6, slow: 480.1 },
      createdAt: at,
    },
  },
  {
    name: 'OrderEvent',
    schema: OrderEvent,
    subject: orderEventSubject('filled'),
    value: {
      v: 1,
      event: 'filled',
      signalId: 'ma_cross:SPY:20261127T1531Z',
      clientOrderId: 'ma_cross:SPY:20261127T1531Z',
      orderId: 'o-1',
      symbol: 'SPY',
      side: 'buy',
      qty: 1,
      filledQty: 1,
      filledAvgPrice: 600.2,
      barSource: 'live',
      reason: '',
      at,
    },
  },
  {
    name: 'OrderEvent (halted)',
    schema: OrderEvent,
    subject: orderEventSubject('halted'),
    value: {
      v: 1,
      event: 'halted',
      signalId: null,
      clientOrderId: null,
      orderId: null,
      symbol: null,
      side: null,
      qty: 0,
      filledQty: null,
      filledAvgPrice: null,
      barSource: null,
      reason: 'self-halt: no watchdog health and no fresh bar for 180 s of open market',
      at,
    },
  },
  {
    name: 'Alert',
    schema: Alert,
    subject: alertSubject('resumed'),
    value: {
      v: 1,
      id: 'a-1',
      kind: 'resumed',
      severity: 'info',
      status: 'resolved',
      incidentId: 'stale-1',
      message: 'data fresh again; it was stale for 33.0 min',
      at,
      durationMs: 1_980_000,
      details: { halted: true },
    },
  },
  {
    name: 'HealthReport',
    schema: HealthReport,
    subject: healthSubject('watchdog'),
    value: {
      v: 1,
      service: 'watchdog',
      instanceId: 'watchdog-1a2b3c4d',
      version: '0.1.0',
      at,
      status: 'ok',
      uptimeSec: 3600,
      figures: { barsPerMinute: 3, lastBarAgeMs: null },
      notes: ['market open'],
    },
  },
];

describe('every bus message', () => {
  for (const { name, schema, subject, value } of examples) {
    it(`${name} survives encode and decode unchanged${subject ? `, by its subject ${subject}` : ''}`, () => {
      const wire = encode(schema, value as never);
      expect(decodeAs(schema, subject ?? '_INBOX.reply', wire)).toEqual({ ok: true, value });
      if (subject) expect(decode(subject, wire)).toEqual({ ok: true, value });
    });

    it(`${name} refuses an unknown field and a wrong schema version`, () => {
      expect(() => encode(schema, { ...(value as object), surprise: 1 } as never)).toThrow(ContractError);
      expect(
        decodeAs(
          schema,
          subject ?? '_INBOX.reply',
          new TextEncoder().encode(JSON.stringify({ ...(value as object), v: 2 })),
        ).ok,
      ).toBe(false);
    });
  }
});

describe('command actors', () => {
  it("reads a request that does not say who sent it as a person's, and a stored halt without `by` as nobody's", () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ v: 1, requestedBy: 'alice', reason: 'checking fills' }));
    expect(decodeAs(ExecutorResumeRequest, 'cmd.executor.resume', bytes)).toMatchObject({
      ok: true,
      value: { by: 'person' },
    });
    const old = new TextEncoder().encode(
      JSON.stringify({ v: 1, ok: true, at, halt: { halted: true, since: at, reason: 'x', incidentId: null } }),
    );
    expect(decodeAs(ExecutorHaltReply, '_INBOX.reply', old)).toMatchObject({
      ok: true,
      value: { halt: { by: null, flattened: false } },
    });
  });
});

describe('halts the executor set itself', () => {
  it('a halt state may say `executor`; a request may not claim it', () => {
    const reply = { v: 1, ok: true, at, halt: { ...halt, by: 'executor', incidentId: null } };
    expect(decodeAs(ExecutorHaltReply, '_INBOX.reply', new TextEncoder().encode(JSON.stringify(reply))).ok).toBe(true);
    const claim = new TextEncoder().encode(JSON.stringify({ ...request, by: 'executor' }));
    expect(decodeAs(ExecutorResumeRequest, 'cmd.executor.resume', claim).ok).toBe(false);
  });

  it('an order event has no symbol and side only when it is `halted`', () => {
    const filled = examples.find((e) => e.name === 'OrderEvent')!.value as object;
    expect(() => encode(OrderEvent, { ...filled, symbol: null, side: null } as never)).toThrow(/halted event/);
    expect(() => encode(OrderEvent, { ...filled, event: 'halted' } as never)).toThrow(/halted event/);
  });
});
