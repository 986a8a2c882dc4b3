import type { KV } from '@nats-io/kv';
import { ClosedPosition, ExecutorHaltState } from '@vigil/contracts';
import type { Logger } from '@vigil/service-kit';
import * as z from 'zod';

/** Written before a flatten touches the broker and removed when it is complete, so a restart finishes it. */
export const FlattenMarker = z.strictObject({
  incidentId: z.string().nullable(),
  requestedBy: z.string(),
  reason: z.string(),
  startedAt: z.string(),
});
export type FlattenMarker = z.infer<typeof FlattenMarker>;

export const FlattenRecord = z.strictObject({
  incidentId: z.string(),
  completedAt: z.string(),
  closed: z.array(ClosedPosition),
  canceledOrders: z.int().nonnegative(),
});
export type FlattenRecord = z.infer<typeof FlattenRecord>;

const NOT_HALTED: ExecutorHaltState = { halted: false, since: null, reason: null, incidentId: null };

const KEY_HALT = 'halt';
const KEY_FLATTEN = 'flatten.active';
/** Incident ids are free text; base64url keeps them within KV's key alphabet. */
const doneKey = (incidentId: string) => `flatten.done.${Buffer.from(incidentId).toString('base64url')}`;

/**
 * The executor's durable state in the `executor_state` KV bucket: halt, the flatten in progress, and
 * the incidents already flattened. Anything unreadable is read as the safe value (halted).
 */
export class ExecutorState {
  private readonly log: Logger;

  constructor(
    private readonly kv: KV,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'executor-state' });
  }

  async halt(): Promise<ExecutorHaltState> {
    const value = await this.read(KEY_HALT, ExecutorHaltState);
    if (value === 'invalid') {
      return { halted: true, since: new Date().toISOString(), reason: 'stored halt state unreadable; halted to be safe', incidentId: null };
    }
    return value ?? NOT_HALTED;
  }

  async setHalt(state: ExecutorHaltState): Promise<void> {
    await this.kv.put(KEY_HALT, JSON.stringify(ExecutorHaltState.parse(state)));
  }

  async flattenMarker(): Promise<FlattenMarker | null> {
    const value = await this.read(KEY_FLATTEN, FlattenMarker);
    // An unreadable marker still means a flatten was under way: finish it.
    return value === 'invalid' ? { incidentId: null, requestedBy: 'executor', reason: 'unreadable flatten marker found at start', startedAt: new Date().toISOString() } : value;
  }

  async setFlattenMarker(marker: FlattenMarker): Promise<void> {
    await this.kv.put(KEY_FLATTEN, JSON.stringify(marker));
  }

  async clearFlattenMarker(): Promise<void> {
    await this.kv.delete(KEY_FLATTEN);
  }

  async flattened(incidentId: string): Promise<FlattenRecord | null> {
    const value = await this.read(doneKey(incidentId), FlattenRecord);
    return value === 'invalid' ? null : value;
  }

  async recordFlattened(record: FlattenRecord): Promise<void> {
    await this.kv.put(doneKey(record.incidentId), JSON.stringify(record));
  }

  private async read<S extends z.ZodType>(key: string, schema: S): Promise<z.infer<S> | null | 'invalid'> {
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') return null;
    let json: unknown;
    try {
      json = JSON.parse(entry.string());
    } catch {
      json = undefined;
    }
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    this.log.error({ key, revision: entry.revision }, 'stored executor state is invalid');
    return 'invalid';
  }
}
