import type { trading } from '@alpacahq/alpaca-trade-api';
import type { ExecutorFlattenReply, ExecutorFlattenRequest, FlattenScope } from '@vigil/contracts';
import { isAllSymbols, retry, retryDelay, type BackoffPolicy, type Logger, type Metrics } from '@vigil/service-kit';
import type { BrokerCall } from './broker-call.js';
import { BrokerError } from './broker-errors.js';
import type { ExecutorState, FlattenMarker, FlattenRecord } from './executor-state.js';
import type { HaltSwitch } from './halt.js';
import type { OrderTracker } from './order-tracker.js';
import { ReadWriteLock } from './read-write-lock.js';

type Closed = ExecutorFlattenReply['closed'][number];
type Failed = ExecutorFlattenReply['failed'][number];

export interface FlattenDeps {
  orders: Pick<trading.OrdersApi, 'deleteAllOrders' | 'getAllOrders' | 'deleteOrderByOrderID'>;
  positions: Pick<trading.PositionsApi, 'deleteAllOpenPositions' | 'deleteOpenPosition' | 'getAllOpenPositions'>;
  /** FLATTEN_SCOPE: close the positions of `symbols` only (`vigil`), or everything in the account (`account`). */
  scope: FlattenScope;
  /** The symbols Vigil trades (SYMBOLS): what a `vigil` flatten cancels and closes. */
  symbols: readonly string[];
  call: BrokerCall;
  state: ExecutorState;
  halt: HaltSwitch;
  tracker: OrderTracker;
  /** Backoff between closing attempts of positions that failed; also for the background retry of a whole flatten. */
  retry: BackoffPolicy;
  /** Attempts to close failed positions before replying (default 3). */
  inlineAttempts?: number;
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
}

interface RunResult {
  scope: FlattenScope;
  closed: Closed[];
  failed: Failed[];
  canceledOrders: number;
  error?: string;
}

const signedQty = (order: trading.Order | undefined): number => {
  const qty = Number(order?.qty ?? 0);
  return order?.side === 'buy' ? -qty : qty; // a buy closes a short
};

/**
 * Flatten: halt, cancel the open orders and close the positions in scope, retry what failed, and stay halted.
 * Scope `account`: every order (DELETE /v2/orders) and every position (DELETE /v2/positions?cancel_orders=true).
 * Scope `vigil`: only those of the symbols Vigil trades, one by one (DELETE /v2/orders/{id}, then
 * DELETE /v2/positions/{symbol}), so what someone else holds in the same account is left alone. A marker in KV is written before the broker is touched and removed
 * when nothing is left, so a restart part-way finishes the job; a completed incident is remembered so a
 * second flatten for it sends nothing. Flattens run one at a time.
 */
export class Flattener {
  /** Flattens and their bookkeeping hold it to write, one at a time; orders being placed hold it to read. */
  private readonly lock = new ReadWriteLock();
  private retryTimer: NodeJS.Timeout | null = null;
  private retryAttempt = 0;
  /**
   * The waits of all three retries here (bookkeeping, inline closes, the background flatten), floored at the
   * initial delay: a zero draw would hit a broker or KV that just failed again at once.
   */
  private get backoff() {
    return { policy: this.deps.retry, floorMs: this.deps.retry.initialMs };
  }
  /** Flattens done at the broker whose KV bookkeeping is not saved yet: incidents to record, the marker to remove. */
  private unrecorded: FlattenRecord[] = [];
  private markerToClear = false;
  private bookkeepingTimer: NodeJS.Timeout | null = null;
  private bookkeepingAttempt = 0;
  private stopped = false;
  private readonly log: Logger;
  private readonly runs;
  private readonly bookkeepingFailures;
  private readonly now: () => number;

  constructor(private readonly deps: FlattenDeps) {
    this.log = deps.logger.child({ component: 'flatten' });
    this.runs = deps.metrics.counter('executor_flatten_runs_total', 'Flatten runs, by result', ['result']);
    this.bookkeepingFailures = deps.metrics.counter(
      'executor_flatten_bookkeeping_failures_total',
      'KV writes after a flatten completed at the broker that failed (retried)',
    );
    this.now = deps.now ?? Date.now;
  }

  async flatten(req: ExecutorFlattenRequest): Promise<ExecutorFlattenReply> {
    return this.serial(async () => {
      const done = req.incidentId ? await this.deps.state.flattened(req.incidentId) : null;
      if (done) {
        this.runs.inc({ result: 'already_flat' });
        this.log.info(
          { incidentId: req.incidentId, requestedBy: req.requestedBy },
          'incident already flattened; nothing sent to the broker',
        );
        return this.reply({ closed: [], failed: [], canceledOrders: 0, scope: done.scope ?? this.deps.scope }, true);
      }
      const marker: FlattenMarker = {
        incidentId: req.incidentId ?? null,
        requestedBy: req.requestedBy,
        by: req.by,
        reason: req.reason,
        startedAt: new Date(this.now()).toISOString(),
        scope: this.deps.scope,
      };
      return this.reply(await this.run(marker), false);
    });
  }

  /** At start: if a flatten was interrupted, halt at once and finish it in the background. */
  async resumeInterrupted(): Promise<void> {
    const marker = await this.deps.state.flattenMarker();
    if (!marker) return;
    if (marker === 'invalid') {
      // Not ours to act on: closing every position on the word of an unreadable key would let anyone who can
      // write it flatten the account. Halt for a person instead, and say why.
      this.log.error(
        'the flatten marker in KV is unreadable: not flattening; halted until a person checks the account and resumes',
      );
      await this.deps.halt.halt(
        'unreadable flatten marker found at start: check the account, then resume',
        null,
        'person',
      );
      return;
    }
    this.log.warn({ marker }, 'found an interrupted flatten; halting and finishing it');
    await this.deps.halt.halt(`flatten: ${marker.reason}`, marker.incidentId, marker.by);
    await this.deps.halt.markFlattened();
    void this.serial(() => this.run(marker));
  }

  /** The scope a flatten requested now uses (FLATTEN_SCOPE). */
  get scope(): FlattenScope {
    return this.deps.scope;
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.bookkeepingTimer) clearTimeout(this.bookkeepingTimer);
  }

  /**
   * Run `fn` while no flatten runs, and no flatten starts until it ends; placements overlap one another.
   * Signals are placed through this, so an order can never slip out between a flatten's cancel/close and its
   * halt taking effect.
   */
  placing<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.read(fn);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.write(fn);
  }

  private async run(marker: FlattenMarker): Promise<RunResult> {
    const log = this.log.child({ incidentId: marker.incidentId });
    const result: RunResult = { closed: [], failed: [], canceledOrders: 0, scope: marker.scope ?? this.deps.scope };
    this.markerToClear = false; // this run owns the marker now, and removes it only when it completes
    try {
      await this.deps.state.setFlattenMarker(marker);
      // A flatten leaves the executor halted, and (RESUME_AFTER_FLATTEN=manual) for a person to lift.
      await this.deps.halt.halt(`flatten: ${marker.reason}`, marker.incidentId, marker.by);
      await this.deps.halt.markFlattened();
      // With SYMBOLS=* every symbol is Vigil's: the account's own bulk calls close them all.
      if (result.scope === 'account' || isAllSymbols(this.deps.symbols)) await this.closeAccount(result);
      else await this.closeSymbols(result);
      await this.retryFailed(result, log);
    } catch (err) {
      result.error = err instanceof Error ? err.message : String(err);
      log.error({ err }, 'flatten could not reach the broker; will retry');
    }

    if (!result.error && result.failed.length === 0) {
      if (marker.incidentId) {
        this.unrecorded.push({
          incidentId: marker.incidentId,
          completedAt: new Date(this.now()).toISOString(),
          closed: result.closed,
          canceledOrders: result.canceledOrders,
          scope: result.scope,
        });
      }
      this.markerToClear = true;
      await this.bookkeep();
      this.retryAttempt = 0;
      this.runs.inc({ result: 'done' });
      log.warn(
        { closed: result.closed, canceledOrders: result.canceledOrders },
        'flatten complete; executor stays halted',
      );
    } else {
      this.runs.inc({ result: 'incomplete' });
      this.scheduleRetry(marker);
    }
    return result;
  }

  /**
   * Save what a completed flatten leaves in KV: the incident's record, then the marker's removal. The broker
   * side is done, so a failed write never reruns the flatten; the writes alone are retried (in the queue, so
   * they cannot remove the marker of a flatten that started meanwhile) until they succeed. Never throws.
   */
  private async bookkeep(): Promise<void> {
    try {
      while (this.unrecorded.length > 0) {
        await this.deps.state.recordFlattened(this.unrecorded[0]!);
        this.unrecorded.shift();
      }
      if (this.markerToClear) await this.deps.state.clearFlattenMarker();
      this.markerToClear = false;
      if (this.bookkeepingAttempt > 0)
        this.log.info({ attempts: this.bookkeepingAttempt + 1 }, 'flatten bookkeeping saved after retrying');
      this.bookkeepingAttempt = 0;
    } catch (err) {
      this.bookkeepingFailures.inc();
      if (this.bookkeepingTimer) return; // the retry already due covers this write too
      const pending = { incidents: this.unrecorded.map((r) => r.incidentId), markerToClear: this.markerToClear };
      if (this.stopped) {
        // The marker is removed last, so it is still in KV: the next start finishes the flatten and records it.
        this.log.error({ err, pending }, 'flatten bookkeeping not saved before stopping; the next start finishes it');
        return;
      }
      const delayMs = retryDelay(this.backoff, ++this.bookkeepingAttempt);
      this.log.error(
        { err, pending, delayMs, attempt: this.bookkeepingAttempt },
        'flatten done at the broker, but its bookkeeping could not be saved; retrying',
      );
      this.bookkeepingTimer = setTimeout(() => {
        this.bookkeepingTimer = null;
        void this.serial(() => this.bookkeep());
      }, delayMs);
    }
  }

  /** Scope `account`: cancel every open order, then close every position (the broker's 207 answers). */
  private async closeAccount(result: RunResult): Promise<void> {
    const canceled = await this.deps.call('cancel all orders', () => this.deps.orders.deleteAllOrders());
    result.canceledOrders = canceled.filter((c) => (c.status ?? 200) < 300).length;
    const answers = await this.deps.call('close all positions', () =>
      this.deps.positions.deleteAllOpenPositions({ cancelOrders: true }),
    );
    for (const a of answers) {
      if (a.status >= 200 && a.status < 300) await this.closed(result, a.symbol, a.body);
      else result.failed.push({ symbol: a.symbol, error: `broker answered HTTP ${a.status} for this position` });
    }
  }

  /**
   * Scope `vigil`: cancel the open orders of Vigil's symbols one by one (an order already final, 404/422, is
   * skipped), then close each of their positions. A close that fails (e.g. 403 while a cancel is still pending
   * at the broker) goes to `failed` and is retried with the others.
   */
  private async closeSymbols(result: RunResult): Promise<void> {
    const inScope = new Set(this.deps.symbols);
    const open = await this.deps.call('list open orders', () =>
      this.deps.orders.getAllOrders({ status: 'open', limit: 500, symbols: [...inScope].join(',') }),
    );
    for (const o of open) {
      if (!o.id || !inScope.has(o.symbol ?? '')) continue;
      const orderId = o.id;
      try {
        await this.deps.call('cancel order', () => this.deps.orders.deleteOrderByOrderID({ orderId }));
        result.canceledOrders += 1;
      } catch (err) {
        if (err instanceof BrokerError && (err.failure.kind === 'not_found' || err.failure.status === 422)) continue;
        throw err;
      }
    }
    const held = await this.deps.call('list positions', () => this.deps.positions.getAllOpenPositions());
    for (const p of held) {
      if (!inScope.has(p.symbol)) continue;
      try {
        const order = await this.deps.call('close position', () =>
          this.deps.positions.deleteOpenPosition({ symbolOrAssetId: p.symbol }),
        );
        await this.closed(result, p.symbol, order);
      } catch (err) {
        if (err instanceof BrokerError && err.failure.kind === 'not_found') continue;
        if (!(err instanceof BrokerError)) throw err;
        result.failed.push({ symbol: p.symbol, error: err.message });
      }
    }
  }

  /** Close positions one by one (DELETE /v2/positions/{symbol}) with backoff; gone (404) counts as closed. */
  private async retryFailed(result: RunResult, log: Logger): Promise<void> {
    // Call 1 only looks at what the first pass left; calls 2.. retry those closes after a backoff wait.
    await retry(
      async (call) => {
        if (call > 1) {
          const still: Failed[] = [];
          for (const f of result.failed) {
            try {
              const order = await this.deps.call('close position', () =>
                this.deps.positions.deleteOpenPosition({ symbolOrAssetId: f.symbol }),
              );
              await this.closed(result, f.symbol, order);
            } catch (err) {
              if (err instanceof BrokerError && err.failure.kind === 'not_found') continue;
              still.push({ symbol: f.symbol, error: err instanceof Error ? err.message : String(err) });
            }
          }
          log.warn(
            { attempt: call - 1, failed: still },
            still.length ? 'positions still not closed' : 'remaining positions closed',
          );
          result.failed = still;
        }
        if (result.failed.length > 0) throw new PositionsStillOpen(result.failed);
      },
      { label: 'close remaining positions', ...this.backoff, maxAttempts: (this.deps.inlineAttempts ?? 3) + 1 },
    ).catch((err: unknown) => {
      // Left in result.failed: the caller schedules the background retry.
      if (!(err instanceof PositionsStillOpen)) throw err;
    });
  }

  private async closed(result: RunResult, symbol: string, order: trading.Order | undefined): Promise<void> {
    result.closed.push({ symbol, qty: signedQty(order), orderId: order?.id ?? null });
    if (order?.id) await this.deps.tracker.track(order, { signalId: null, barSource: null, announce: true });
  }

  private scheduleRetry(marker: FlattenMarker): void {
    if (this.stopped || this.retryTimer) return;
    const delay = retryDelay(this.backoff, ++this.retryAttempt);
    this.log.warn({ delayMs: delay, attempt: this.retryAttempt }, 'flatten incomplete; trying again');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.serial(() => this.run(marker));
    }, delay);
  }

  private reply(r: RunResult, alreadyFlat: boolean): ExecutorFlattenReply {
    const problem =
      r.error ??
      (r.failed.length ? `${r.failed.length} position(s) not closed yet; retrying in the background` : undefined);
    return {
      v: 1,
      ok: !problem,
      at: new Date(this.now()).toISOString(),
      ...(problem ? { error: problem } : {}),
      scope: r.scope,
      closed: r.closed,
      failed: r.failed,
      canceledOrders: r.canceledOrders,
      alreadyFlat,
      halt: this.deps.halt.current(),
    };
  }
}

/** Positions a flatten pass could not close yet; retryFailed's signal to try again. */
class PositionsStillOpen extends Error {
  constructor(readonly failed: Failed[]) {
    super(`${failed.length} position(s) not closed yet: ${failed.map((f) => f.symbol).join(', ')}`);
    this.name = 'PositionsStillOpen';
  }
}
