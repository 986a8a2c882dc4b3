import type * as z from 'zod';
import { ContractError, DecodeError, formatIssues } from './errors.js';
import { Alert } from './messages/alert.js';
import { Bar } from './messages/bar.js';
import { commands, type CommandSpec } from './commands.js';
import { HealthReport } from './messages/health.js';
import { GatewayHeartbeat, StandbyHeartbeat } from './messages/heartbeat.js';
import { OrderEvent } from './messages/order-event.js';
import { Signal } from './messages/signal.js';
import { StrategyHeartbeat } from './messages/strategy-heartbeat.js';

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: DecodeError };

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/**
 * Parse and validate bytes against `schema`. Never throws: a malformed message becomes a `DecodeError`
 * that names the subject and each offending field, so handlers log it and move on.
 */
export function decodeAs<S extends z.ZodType>(
  schema: S,
  subject: string,
  bytes: Uint8Array,
  typeName = schemaName(schema),
): Decoded<z.infer<S>> {
  let json: unknown;
  try {
    json = JSON.parse(textDecoder.decode(bytes));
  } catch (cause) {
    return {
      ok: false,
      error: new DecodeError(subject, typeName, `not JSON (${(cause as Error).message})`, { cause }),
    };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      error: new DecodeError(subject, typeName, formatIssues(parsed.error), { cause: parsed.error }),
    };
  }
  return { ok: true, value: parsed.data };
}

/** Validate before sending, so a bug in a producer is caught at its source, not in every consumer. */
export function encode<S extends z.ZodType>(schema: S, value: z.input<S>): Uint8Array {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ContractError(`refusing to send an invalid ${schemaName(schema)}: ${formatIssues(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  return textEncoder.encode(JSON.stringify(parsed.data));
}

/**
 * The bytes of a value this process has already checked against its schema (the market gateway checks each bar
 * as it arrives): on a hot path a second check would cost as much as the publish itself.
 */
export function encodeChecked<T>(value: T): Uint8Array {
  return textEncoder.encode(JSON.stringify(value));
}

interface Route {
  pattern: RegExp;
  type: string;
  schema: z.ZodType;
}

/** A command's request, on its subject exactly. */
function commandRoute(spec: CommandSpec, type: string): Route {
  return { pattern: new RegExp(`^${spec.subject.replace(/\./g, '\\.')}$`), type, schema: spec.request };
}

/** Which schema each subject carries. Command replies travel on inboxes, so callers decode them with `decodeAs`. */
const routes: Route[] = [
  { pattern: /^md\.bars\.1m\.[A-Z0-9_]+$/, type: 'Bar', schema: Bar },
  { pattern: /^md\.heartbeat$/, type: 'GatewayHeartbeat', schema: GatewayHeartbeat },
  { pattern: /^md\.standby$/, type: 'StandbyHeartbeat', schema: StandbyHeartbeat },
  commandRoute(commands.gatewayReconnect, 'GatewayReconnectRequest'),
  commandRoute(commands.gatewayStatus, 'GatewayStatusRequest'),
  commandRoute(commands.executorFlatten, 'ExecutorFlattenRequest'),
  commandRoute(commands.executorHalt, 'ExecutorHaltRequest'),
  commandRoute(commands.executorResume, 'ExecutorResumeRequest'),
  { pattern: /^strategy\.heartbeat$/, type: 'StrategyHeartbeat', schema: StrategyHeartbeat },
  { pattern: /^strategy\.signals\.[A-Z0-9_]+$/, type: 'Signal', schema: Signal },
  { pattern: /^executor\.orders\.[a-z_]+$/, type: 'OrderEvent', schema: OrderEvent },
  { pattern: /^alerts\.[a-z_]+$/, type: 'Alert', schema: Alert },
  { pattern: /^health\.[a-z0-9_-]+$/, type: 'HealthReport', schema: HealthReport },
];

/** Decode any Vigil message by the subject it arrived on. An unknown subject is a `DecodeError` too. */
export function decode(subject: string, bytes: Uint8Array): Decoded<unknown> {
  const route = routes.find((r) => r.pattern.test(subject));
  if (!route)
    return { ok: false, error: new DecodeError(subject, 'message', 'no Vigil message is defined for this subject') };
  return consistent(subject, route.type, decodeAs(route.schema, subject, bytes, route.type));
}

/**
 * Decode a message whose type the caller knows, with every check `decode` makes: the subject must be one that
 * carries `schema` (an unknown subject, or one carrying another type, is a `DecodeError`), and a bar or signal
 * must name its subject's symbol, an alert or order event its kind, a health report its service. Typed, so no
 * cast follows; for replies on inboxes, which no subject names, use `decodeAs`.
 */
export function decodeOn<S extends z.ZodType>(schema: S, subject: string, bytes: Uint8Array): Decoded<z.infer<S>> {
  const typeName = schemaName(schema);
  const route = routes.find((r) => r.pattern.test(subject));
  if (!route)
    return { ok: false, error: new DecodeError(subject, typeName, 'no Vigil message is defined for this subject') };
  if (route.schema !== schema)
    return {
      ok: false,
      error: new DecodeError(subject, typeName, `this subject carries ${route.type}, not ${typeName}`),
    };
  return consistent(subject, route.type, decodeAs(schema, subject, bytes, route.type));
}

/**
 * `decodeOn` for messages that must decode (a stream only this system writes, read back by a test or a
 * tool): the value, or the `DecodeError` thrown.
 */
export function decodeStored<S extends z.ZodType>(schema: S, msg: { subject: string; data: Uint8Array }): z.infer<S> {
  const decoded = decodeOn(schema, msg.subject, msg.data);
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
}

function consistent<T>(subject: string, typeName: string, result: Decoded<T>): Decoded<T> {
  if (!result.ok) return result;
  const mismatch = subjectMismatch(subject, result.value);
  return mismatch ? { ok: false, error: new DecodeError(subject, typeName, mismatch) } : result;
}

/** A bar or signal must be about the symbol its subject names; an alert or order event about its kind. */
function subjectMismatch(subject: string, value: unknown): string | null {
  const last = subject.slice(subject.lastIndexOf('.') + 1);
  const v = value as { symbol?: string; kind?: string; event?: string; service?: string };
  if (subject.startsWith('md.bars.') || subject.startsWith('strategy.signals.')) {
    return v.symbol?.replace(/\./g, '_') === last ? null : `symbol ${v.symbol} does not match subject token ${last}`;
  }
  if (subject.startsWith('alerts.')) return v.kind === last ? null : `kind ${v.kind} does not match subject`;
  if (subject.startsWith('executor.orders.'))
    return v.event === last ? null : `event ${v.event} does not match subject`;
  if (subject.startsWith('health.')) return v.service === last ? null : `service ${v.service} does not match subject`;
  return null;
}

function schemaName(schema: z.ZodType): string {
  const known: [z.ZodType, string][] = routes.map((r) => [r.schema, r.type]);
  return known.find(([s]) => s === schema)?.[1] ?? 'message';
}
