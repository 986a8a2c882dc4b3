import { EventEmitter } from 'node:events';
import * as z from 'zod';

const key = z.string().min(1).max(256).optional();
const scope = z.enum(['data', 'trading', 'all']).default('all');
const errorStatus = z.int().min(400).max(599);
/** Narrows a REST fault to one endpoint: `"<METHOD> <path prefix>"`, e.g. `"POST /v2/orders"`. */
const route = z
  .string()
  .regex(/^(GET|POST|PATCH|PUT|DELETE) \/\S*$/, { error: 'expected "<METHOD> <path prefix>", e.g. "POST /v2/orders"' })
  .optional();

/** Faults that act once on the current connections. */
const instant = [
  z.object({ kind: z.literal('drop'), key }),
  z.object({
    kind: z.literal('close'),
    key,
    code: z.int().min(1000).max(4999).default(1000),
    reason: z.string().max(120).default(''),
  }),
  z.object({ kind: z.literal('kill_session'), key: z.string().min(1).max(256) }),
  z.object({ kind: z.literal('unsubscribe'), key }),
  z.object({ kind: z.literal('garbage'), key }),
] as const;

/** Faults that stay in force for a while (durationMs / durationMinutes) or until cleared; some also for N uses. */
const lasting = [
  z.object({ kind: z.literal('blackhole'), key }),
  z.object({ kind: z.literal('stall'), key }),
  z.object({ kind: z.literal('handshake_hang') }),
  z.object({
    kind: z.literal('reject_upgrade'),
    status: errorStatus.default(503),
    retryAfterSec: z.int().min(0).max(3600).default(1),
  }),
  z.object({ kind: z.literal('refuse') }),
  z.object({ kind: z.literal('auth_fail'), key }),
  z.object({ kind: z.literal('auth_silent'), key }),
  z.object({ kind: z.literal('conn_limit'), key, count: z.int().min(1).default(1) }),
  z.object({ kind: z.literal('no_subscription_ack'), key }),
  z.object({ kind: z.literal('partial_subscription_ack'), key, omit: z.array(z.string()).optional() }),
  z.object({ kind: z.literal('malformed_frames'), key, everyN: z.int().min(1).default(3) }),
  z.object({ kind: z.literal('duplicate_bars'), key }),
  z.object({ kind: z.literal('out_of_order'), key }),
  z.object({ kind: z.literal('late_bars'), key, delayMs: z.int().min(0).max(600_000).default(5000) }),
  z.object({ kind: z.literal('updated_bars'), key }),
  z.object({ kind: z.literal('slow'), key, delayMs: z.int().min(0).max(600_000).default(1000) }),
  z.object({
    kind: z.literal('rest_error'),
    scope,
    route,
    status: errorStatus.default(500),
    retryAfterSec: z.int().min(0).max(3600).default(1),
    count: z.int().min(1).optional(),
  }),
  /** REST serves only the minutes that closed `lagMs` of market time ago (for `symbols`, or all): the stream is ahead. */
  z.object({
    kind: z.literal('rest_lag'),
    lagMs: z.int().min(0).max(3_600_000).default(90_000),
    symbols: z.array(z.string().min(1).max(32)).max(1000).optional(),
  }),
  z.object({
    kind: z.literal('rest_slow'),
    scope,
    route,
    delayMs: z.int().min(0).max(600_000).default(2000),
    count: z.int().min(1).optional(),
  }),
] as const;

const timing = { durationMs: z.int().min(1).optional(), durationMinutes: z.number().positive().optional() };

export const faultSpec = z.discriminatedUnion('kind', [
  ...instant,
  ...lasting.map((s) => s.extend(timing)),
] as never) as unknown as z.ZodType<FaultSpec, unknown>;

type InstantSpec = z.infer<(typeof instant)[number]>;
type LastingSpec = z.infer<(typeof lasting)[number]> & { durationMs?: number; durationMinutes?: number };
export type FaultSpec = InstantSpec | LastingSpec;
export type FaultKind = FaultSpec['kind'];
export type LastingKind = LastingSpec['kind'];
export type Fault<K extends LastingKind = LastingKind> = Extract<LastingSpec, { kind: K }> & {
  id: number;
  injectedAt: string;
  expiresAtMs?: number;
  remaining?: number;
};

export const INSTANT_KINDS: ReadonlySet<string> = new Set(instant.map((s) => s.shape.kind.value));

/** Names from the issue and the lead's list mapped onto the kinds above. */
const ALIASES: Record<string, Record<string, unknown>> = {
  freeze: { kind: 'blackhole' },
  'handshake-429': { kind: 'reject_upgrade', status: 429 },
  handshake_429: { kind: 'reject_upgrade', status: 429 },
  duplicate: { kind: 'duplicate_bars' },
  'out-of-order': { kind: 'out_of_order' },
  'auth-silent': { kind: 'auth_silent' },
  'conn-limit': { kind: 'conn_limit' },
};

/** Accept hyphenated names and aliases, then validate. */
export function parseFault(input: unknown): z.ZodSafeParseResult<FaultSpec> {
  if (input && typeof input === 'object' && 'kind' in input && typeof input.kind === 'string') {
    const alias = ALIASES[input.kind];
    const kind = input.kind.replaceAll('-', '_');
    input = alias ? { ...input, ...alias } : { ...input, kind };
  }
  return faultSpec.safeParse(input);
}

/** A fault request that does not match any kind or its parameters. */
export class InvalidFaultError extends Error {
  override name = 'InvalidFaultError';
}

/** A spec as a caller writes it: canonical or alias kind, parameters optional. */
export type FaultInput = { kind: string } & Record<string, unknown>;

export interface InjectResult {
  /** The stored fault (lasting kinds), or null for instant kinds. */
  fault: Fault | null;
  /** Instant kinds: how many connections it acted on. */
  affected?: number;
}

interface FaultEvents {
  injected: [FaultSpec];
  expired: [Fault];
  cleared: [Fault[]];
}

/**
 * The faults in force. Lasting faults expire by wall time or after `count` uses; `counts` tallies every
 * injection and every time a fault took effect, for the status endpoint.
 */
export class FaultBook extends EventEmitter<FaultEvents> {
  private active: Fault[] = [];
  private nextId = 1;
  private instant: (spec: FaultSpec) => number = () => 0;
  readonly injected: Partial<Record<FaultKind, number>> = {};
  readonly applied: Partial<Record<FaultKind, number>> = {};

  constructor(
    private readonly msPerMinute: () => number,
    private readonly wallNow: () => number = Date.now,
  ) {
    super();
  }

  /** Who carries out instant faults (the stream server); returns how many connections were hit. */
  setInstantHandler(handler: (spec: FaultSpec) => number): void {
    this.instant = handler;
  }

  /** Validate and inject a fault: instant kinds act now, lasting kinds stay in force. Throws `InvalidFaultError`. */
  inject(input: FaultInput | FaultSpec): InjectResult {
    const parsed = parseFault(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidFaultError(
        `invalid fault ${JSON.stringify(input)}: ${issue ? `${issue.path.join('.') || 'kind'}: ${issue.message}` : 'unknown'} (see the README's fault table)`,
        { cause: parsed.error },
      );
    }
    const fault = this.add(parsed.data);
    return INSTANT_KINDS.has(parsed.data.kind) ? { fault, affected: this.instant(parsed.data) } : { fault };
  }

  /** Record a fault. Lasting ones are kept; instant ones are only counted here. */
  private add(spec: FaultSpec): Fault | null {
    this.injected[spec.kind] = (this.injected[spec.kind] ?? 0) + 1;
    this.emit('injected', spec);
    if (INSTANT_KINDS.has(spec.kind)) return null;
    const s = spec as LastingSpec;
    const durationMs =
      s.durationMs ?? (s.durationMinutes !== undefined ? Math.ceil(s.durationMinutes * this.msPerMinute()) : undefined);
    const count = 'count' in s ? s.count : undefined;
    const fault = {
      ...s,
      id: this.nextId++,
      injectedAt: new Date(this.wallNow()).toISOString(),
      ...(durationMs !== undefined ? { expiresAtMs: this.wallNow() + durationMs } : {}),
      ...(count !== undefined ? { remaining: count } : {}),
    } as Fault;
    this.active.push(fault);
    if (durationMs !== undefined) setTimeout(() => this.expire(fault), durationMs).unref();
    return fault;
  }

  /**
   * The first live fault of `kind` that applies to `forKey` (faults without a key apply to everyone), and for a
   * REST fault to the API and the request (`"<METHOD> <path>"`; faults without a route apply to every request).
   */
  find<K extends LastingKind>(
    kind: K,
    forKey?: string,
    scope?: 'data' | 'trading',
    request?: string,
  ): Fault<K> | undefined {
    const now = this.wallNow();
    return this.active.find(
      (f) =>
        f.kind === kind &&
        (f.expiresAtMs === undefined || f.expiresAtMs > now) &&
        (!('key' in f) || f.key === undefined || f.key === forKey) &&
        (!('scope' in f) || scope === undefined || f.scope === 'all' || f.scope === scope) &&
        (!('route' in f) || f.route === undefined || request?.startsWith(f.route) === true),
    ) as Fault<K> | undefined;
  }

  /** Count one use of `fault`; a counted fault is removed when used up. */
  use(fault: Fault): void {
    this.applied[fault.kind] = (this.applied[fault.kind] ?? 0) + 1;
    if (fault.remaining === undefined) return;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.expire(fault);
  }

  /** Count an instant fault's effect. */
  countApplied(kind: FaultKind): void {
    this.applied[kind] = (this.applied[kind] ?? 0) + 1;
  }

  list(): Fault[] {
    const now = this.wallNow();
    return this.active.filter((f) => f.expiresAtMs === undefined || f.expiresAtMs > now);
  }

  /** Clear every fault, or those with the given id or kind. */
  clear(filter: { id?: number; kind?: string } = {}): Fault[] {
    const kind = filter.kind?.replaceAll('-', '_');
    const hit = (f: Fault) =>
      (filter.id === undefined || f.id === filter.id) && (kind === undefined || f.kind === kind);
    const removed = this.active.filter(hit);
    this.active = this.active.filter((f) => !hit(f));
    if (removed.length) this.emit('cleared', removed);
    return removed;
  }

  private expire(fault: Fault): void {
    if (!this.active.includes(fault)) return;
    this.active = this.active.filter((f) => f !== fault);
    this.emit('expired', fault);
  }
}
