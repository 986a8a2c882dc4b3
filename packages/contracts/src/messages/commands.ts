import * as z from 'zod';
import { isoInstant, nonNegativeInt, schemaVersion, symbol } from '../primitives.js';
import { GatewayHeartbeat } from './heartbeat.js';

/**
 * Who sends a command: the watchdog on its own, or a person. A halt a person set is cleared only by a person,
 * and after a flatten only a person resumes (RESUME_AFTER_FLATTEN=manual). A request that does not say is a
 * person's: the safer reading, as a hand-typed request never says.
 */
export const CommandActor = z.enum(['watchdog', 'person']);
export type CommandActor = z.infer<typeof CommandActor>;
/**
 * Who set a halt: a command's sender, or the executor itself (`executor`: it heard neither the watchdog nor a
 * fresh bar in market hours). No request can claim `executor`.
 */
export const HaltActor = z.enum([...CommandActor.options, 'executor']);
export type HaltActor = z.infer<typeof HaltActor>;

/** Fields every command request carries, so each action can be traced to who asked and why. */
const commandRequest = {
  v: schemaVersion,
  requestedBy: z.string().min(1),
  by: CommandActor.default('person'),
  reason: z.string().min(1),
  /** Groups the commands sent for one stale-data incident; makes flatten idempotent per incident. */
  incidentId: z.string().min(1).optional(),
};

/** Fields every command reply carries. `ok: false` always comes with an error a person can act on. */
const commandReply = {
  v: schemaVersion,
  ok: z.boolean(),
  at: isoInstant,
  error: z.string().optional(),
};

export const GatewayReconnectRequest = z.strictObject(commandRequest);
export type GatewayReconnectRequest = z.infer<typeof GatewayReconnectRequest>;
export const GatewayReconnectReply = z.strictObject({ ...commandReply, state: GatewayHeartbeat.shape.state });
export type GatewayReconnectReply = z.infer<typeof GatewayReconnectReply>;

export const GatewayStatusRequest = z.strictObject({ v: schemaVersion });
export type GatewayStatusRequest = z.infer<typeof GatewayStatusRequest>;
export const GatewayStatusReply = z.strictObject({ ...commandReply, status: GatewayHeartbeat });
export type GatewayStatusReply = z.infer<typeof GatewayStatusReply>;

export const ExecutorHaltRequest = z.strictObject(commandRequest);
export type ExecutorHaltRequest = z.infer<typeof ExecutorHaltRequest>;
export const ExecutorResumeRequest = z.strictObject(commandRequest);
export type ExecutorResumeRequest = z.infer<typeof ExecutorResumeRequest>;
export const ExecutorHaltState = z.strictObject({
  halted: z.boolean(),
  since: isoInstant.nullable(),
  reason: z.string().nullable(),
  /** The incident the halt is for; a watchdog resume must name it. */
  incidentId: z.string().nullable(),
  /** Who halted (null when not halted, or stored before this field existed). */
  by: HaltActor.nullable().default(null),
  /** A flatten ran while halted: with RESUME_AFTER_FLATTEN=manual only a person resumes. */
  flattened: z.boolean().default(false),
});
export type ExecutorHaltState = z.infer<typeof ExecutorHaltState>;
/** The executor's halt state when it has never halted (nothing stored). */
export const NOT_HALTED: ExecutorHaltState = {
  halted: false,
  since: null,
  reason: null,
  incidentId: null,
  by: null,
  flattened: false,
};
export const ExecutorHaltReply = z.strictObject({ ...commandReply, halt: ExecutorHaltState });
export type ExecutorHaltReply = z.infer<typeof ExecutorHaltReply>;
/** Resume answers with the halt state it left behind, in the same shape as halt. */
export const ExecutorResumeReply = ExecutorHaltReply;
export type ExecutorResumeReply = ExecutorHaltReply;

export const ExecutorFlattenRequest = z.strictObject(commandRequest);
export type ExecutorFlattenRequest = z.infer<typeof ExecutorFlattenRequest>;
export const ClosedPosition = z.strictObject({
  symbol,
  qty: z.number(),
  orderId: z.string().nullable(),
});
export const FailedClose = z.strictObject({ symbol, error: z.string() });
/** Which positions a flatten closes: those of the symbols Vigil trades (`vigil`), or every one in the account. */
export const FlattenScope = z.enum(['vigil', 'account']);
export type FlattenScope = z.infer<typeof FlattenScope>;
export const ExecutorFlattenReply = z.strictObject({
  ...commandReply,
  /** The scope this flatten used (FLATTEN_SCOPE; for an incident already flattened, the scope it was flattened with). */
  scope: FlattenScope,
  closed: z.array(ClosedPosition),
  failed: z.array(FailedClose),
  canceledOrders: nonNegativeInt,
  /** True when this incident was already flattened and nothing was sent to the broker again. */
  alreadyFlat: z.boolean(),
  halt: ExecutorHaltState,
});
export type ExecutorFlattenReply = z.infer<typeof ExecutorFlattenReply>;
