import type { KV } from '@nats-io/kv';
import { ClosedPosition, CommandActor, ExecutorHaltState, FlattenScope, NOT_HALTED } from '@vigil/contracts';
import { KvJsonStore, KvValueInvalid, type Logger } from '@vigil/service-kit';
import * as z from 'zod';

/** Written before a flatten touches the broker and removed when it is complete, so a restart finishes it. */
export const FlattenMarker = z.strictObject({
  incidentId: z.string().nullable(),
  requestedBy: z.string(),
  /** Absent in a marker written before it existed: the safer reading is a person's flatten. */
  by: CommandActor.default('person'),
  reason: z.string(),
  startedAt: z.string(),
  /** The scope the flatten started with, so a restart finishes the same job (absent: FLATTEN_SCOPE now). */
  scope: FlattenScope.optional(),
});
export type FlattenMarker = z.infer<typeof FlattenMarker>;

export const FlattenRecord = z.strictObject({
  incidentId: z.string(),
  completedAt: z.string(),
  closed: z.array(ClosedPosition),
  canceledOrders: z.int().nonnegative(),
  scope: FlattenScope.optional(),
});
export type FlattenRecord = z.infer<typeof FlattenRecord>;

const KEY_HALT = 'halt';
const KEY_FLATTEN = 'flatten.active';
/** When the orders of the last minute were sent (broker-time epoch ms), for MAX_ORDERS_PER_MINUTE across restarts. */
const KEY_ORDER_WINDOW = 'rate.sent';
const OrderWindow = z.array(z.number().int().nonnegative());
/** Incident ids are free text; base64url keeps them within KV's key alphabet. */
const doneKey = (incidentId: string) => `flatten.done.${Buffer.from(incidentId).toString('base64url')}`;

/**
 * The executor's durable state in the `executor_state` KV bucket: halt, the flatten in progress, the
 * incidents already flattened, and the orders-per-minute window. Anything unreadable is read as the safe
 * value (halted; a full window).
 */
export class ExecutorState {
  private readonly log: Logger;
  private readonly halts: KvJsonStore<typeof ExecutorHaltState>;
  private readonly windows: KvJsonStore<typeof OrderWindow>;
  private readonly markers: KvJsonStore<typeof FlattenMarker>;
  private readonly records: KvJsonStore<typeof FlattenRecord>;

  constructor(kv: KV, logger: Logger) {
    this.log = logger.child({ component: 'executor-state' });
    this.halts = new KvJsonStore(kv, ExecutorHaltState);
    this.windows = new KvJsonStore(kv, OrderWindow);
    this.markers = new KvJsonStore(kv, FlattenMarker);
    this.records = new KvJsonStore(kv, FlattenRecord);
  }

  async halt(): Promise<ExecutorHaltState> {
    const value = await this.read(this.halts, KEY_HALT);
    if (value === 'invalid') {
      // Nobody can tell who halted: only a person may lift it.
      return {
        halted: true,
        since: new Date().toISOString(),
        reason: 'stored halt state unreadable; halted to be safe',
        incidentId: null,
        by: 'person',
        flattened: false,
      };
    }
    return value ?? NOT_HALTED;
  }

  async setHalt(state: ExecutorHaltState): Promise<void> {
    await this.halts.put(KEY_HALT, state);
  }

  /** The send times of recent orders, oldest first ([] when none stored), or 'invalid' when unreadable. */
  async orderWindow(): Promise<number[] | 'invalid'> {
    const value = await this.read(this.windows, KEY_ORDER_WINDOW);
    return value === 'invalid' ? value : [...(value ?? [])].sort((a, b) => a - b);
  }

  async setOrderWindow(times: readonly number[]): Promise<void> {
    await this.windows.put(KEY_ORDER_WINDOW, [...times]);
  }

  /**
   * The flatten under way, null when none, or 'invalid' when the key holds something else. Any NATS login can
   * get the server to write its own JSON answer into a KV key (a request whose reply subject is the key), so
   * an unreadable marker proves nothing about a flatten and must never start one.
   */
  async flattenMarker(): Promise<FlattenMarker | null | 'invalid'> {
    return this.read(this.markers, KEY_FLATTEN);
  }

  async setFlattenMarker(marker: FlattenMarker): Promise<void> {
    await this.markers.put(KEY_FLATTEN, marker);
  }

  async clearFlattenMarker(): Promise<void> {
    await this.markers.delete(KEY_FLATTEN);
  }

  async flattened(incidentId: string): Promise<FlattenRecord | null> {
    const value = await this.read(this.records, doneKey(incidentId));
    return value === 'invalid' ? null : value;
  }

  async recordFlattened(record: FlattenRecord): Promise<void> {
    await this.records.put(doneKey(record.incidentId), record);
  }

  private async read<S extends z.ZodType>(store: KvJsonStore<S>, key: string): Promise<z.output<S> | null | 'invalid'> {
    try {
      return await store.get(key);
    } catch (err) {
      if (!(err instanceof KvValueInvalid)) throw err;
      this.log.error({ key, revision: err.revision, err }, 'stored executor state is invalid');
      return 'invalid';
    }
  }
}
