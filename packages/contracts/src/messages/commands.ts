import * as z from 'zod';
import { isoInstant, nonNegativeInt, schemaVersion, symbol } from '../primitives.js';
import { GatewayHeartbeat } from './heartbeat.js';

/** Fields every command request carries, so each action can be traced to who asked and why. */
const commandRequest = {
  v: schemaVersion,
  requestedBy: z.string().min(1),
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
  incidentId: z.string().nullable(),
});
export type ExecutorHaltState = z.infer<typeof ExecutorHaltState>;
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
export const ExecutorFlattenReply = z.strictObject({
  ...commandReply,
  closed: z.array(ClosedPosition),
  failed: z.array(FailedClose),
  canceledOrders: nonNegativeInt,
  /** True when this incident was already flattened and nothing was sent to the broker again. */
  alreadyFlat: z.boolean(),
  halt: ExecutorHaltState,
});
export type ExecutorFlattenReply = z.infer<typeof ExecutorFlattenReply>;
