import * as z from 'zod';
import { isoInstant, nonNegativeInt, schemaVersion, symbol, token } from '../primitives.js';

/**
 * The gateway's connection state machine, shared so the watchdog and the status page read the same words.
 * `limited` is Alpaca's 406 lock-out (a dead session still held), `auth_failed` and `config_error`
 * need a person.
 */
export const GatewayState = z.enum([
  'starting',
  'connecting',
  'authenticating',
  'subscribing',
  'streaming',
  'backoff',
  'limited',
  'rate_limited',
  'auth_failed',
  'config_error',
  'stopped',
]);
export type GatewayState = z.infer<typeof GatewayState>;

/**
 * How bars are reaching the bus now: the live stream, a REST backfill the live bars wait behind, REST polling
 * while the stream is down, or nothing yet (the stream is down and polling has not started).
 */
export const DataPath = z.enum(['live', 'backfill', 'polling', 'none']);
export type DataPath = z.infer<typeof DataPath>;

/**
 * The gateway's audit of stored bars against REST (market-gateway `audit.ts`), since the gateway started: a
 * repair means some other layer (the live stream, backfill, polling) missed a bar or its final values.
 */
export const AuditReport = z.strictObject({
  /** When the last audit finished (the gateway's clock); null before the first. */
  lastAuditAt: isoInstant.nullable(),
  /** Bars REST has that the stream did not: stored by the audit. */
  missing: nonNegativeInt,
  /** Stored bars whose values REST gives differently: stored again as the next revision. */
  revised: nonNegativeInt,
});
export type AuditReport = z.infer<typeof AuditReport>;

/** Under SYMBOLS=* a heartbeat names this many symbols, the most recently stored: thousands each second would cost
 * every reader more than it tells (the newest bar is what the executor and the watchdog look at). */
export const HEARTBEAT_MAX_SYMBOLS = 100;

export const GatewayHeartbeat = z.strictObject({
  v: schemaVersion,
  service: token,
  instanceId: z.string().min(1),
  seq: nonNegativeInt,
  sentAt: isoInstant,
  state: GatewayState,
  /** Why the gateway is in this state, in words a person can act on. */
  reason: z.string(),
  /** From the broker's clock; null until the first clock read succeeds. */
  marketOpen: z.boolean().nullable(),
  /** The symbols kept complete; under SYMBOLS=* (`allSymbols`) only the `HEARTBEAT_MAX_SYMBOLS` newest stored. */
  symbols: z.array(symbol),
  /** SYMBOLS=*: `symbols` and `lastBarTBySymbol` hold the newest stored symbols only; `symbolCount` counts all. */
  allSymbols: z.boolean().optional(),
  /** How many symbols the gateway keeps complete. */
  symbolCount: nonNegativeInt.optional(),
  /** When the current connection started streaming; null while not streaming. */
  connectedSince: isoInstant.nullable(),
  lastMessageAt: isoInstant.nullable(),
  lastBarAt: isoInstant.nullable(),
  /** Start of the last bar stored in JetStream per symbol (bar time, not receipt time); capped as `symbols`. */
  lastBarTBySymbol: z.record(z.string(), isoInstant),
  barsLastMinute: nonNegativeInt,
  /** Outages: streaming connections lost (not attempts). */
  reconnects: nonNegativeInt,
  /** Share of market-open time spent streaming since the gateway started, 0–100; null before any open time. */
  uptimePct: z.number().min(0).max(100).nullable(),
  polling: z.boolean(),
  dataPath: DataPath,
  /** When the data path last changed (the gateway's clock). */
  dataPathSince: isoInstant,
  /** When the live stream stopped streaming, or null while it streams: a degraded feed is measured from here. */
  liveDownSince: isoInstant.nullable(),
  /** Bars waiting for NATS, and that as a share of the bounded buffer (1 = full: new live bars are refetched later). */
  bufferedBars: nonNegativeInt,
  bufferFill: z.number().min(0).max(1),
  audit: AuditReport,
});
export type GatewayHeartbeat = z.infer<typeof GatewayHeartbeat>;

/** The value of the gateway lease (KV `gateway_leader`, key `leader`). */
export const GatewayLease = z.strictObject({
  v: schemaVersion,
  /** The replica holding it (`REPLICA_ID`, the host name by default): stable across a restart of that replica. */
  holder: z.string().min(1),
  /** Its process (the heartbeat's `instanceId`). */
  instanceId: z.string().min(1),
  /** When the holder took it (its clock). */
  since: isoInstant,
});
export type GatewayLease = z.infer<typeof GatewayLease>;

/** A standby gateway's heartbeat on `md.standby`: ready to take over when the lease lapses. */
export const StandbyHeartbeat = z.strictObject({
  v: schemaVersion,
  service: token,
  instanceId: z.string().min(1),
  replicaId: z.string().min(1),
  seq: nonNegativeInt,
  sentAt: isoInstant,
  /** The lease's holder as this standby last read it (replica and process); null when nobody holds it. */
  leader: z.strictObject({ replicaId: z.string().min(1), instanceId: z.string().min(1) }).nullable(),
  leaseTtlMs: nonNegativeInt,
});
export type StandbyHeartbeat = z.infer<typeof StandbyHeartbeat>;
