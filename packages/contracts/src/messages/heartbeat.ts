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
  symbols: z.array(symbol),
  lastMessageAt: isoInstant.nullable(),
  lastBarAt: isoInstant.nullable(),
  reconnects: nonNegativeInt,
  polling: z.boolean(),
});
export type GatewayHeartbeat = z.infer<typeof GatewayHeartbeat>;
