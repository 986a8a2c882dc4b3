import type { trading } from '@alpacahq/alpaca-trade-api';
import type { ExecutorFlattenReply, ExecutorFlattenRequest } from '@vigil/contracts';
import { backoffDelay, type BackoffPolicy, type Logger, type Metrics } from '@vigil/service-kit';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BrokerCall } from './broker-call.js';
import { BrokerError } from './broker-errors.js';
import type { ExecutorState, FlattenMarker, FlattenRecord } from './executor-state.js';
import type { HaltSwitch } from './halt.js';
import type { OrderTracker } from './order-tracker.js';

type Closed = ExecutorFlattenReply['closed'][number];
type Failed = ExecutorFlattenReply['failed'][number];

export interface FlattenDeps {
  orders: Pick<trading.OrdersApi, 'deleteAllOrders'>;
  positions: Pick<trading.PositionsApi, 'deleteAllOpenPositions' | 'deleteOpenPosition'>;
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
 * Flatten: halt, cancel every open order, close every position (DELETE /v2/positions?cancel_orders=true),
 * retry what failed, and stay halted. A marker in KV is written before the broker is touched and removed
 * when nothing is left, so a restart part-way finishes the job; a completed incident is remembered so a
 * second flatten for it sends nothing. Flattens run one at a time.
 */
export class Flattener {
  private queue: Promise<unknown> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private retryAttempt = 0;
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
    this.runs = deps.metrics.counter('flatten_runs_total', 'Flatten runs, by result', ['result']);
    this.bookkeepingFailures = deps.metrics.counter('flatten_bookkeeping_failures_total', 'KV writes after a flatten completed at the broker that failed (retried)');
    this.now = deps.now ?? Date.now;
  }

  async flatten(req: ExecutorFlattenRequest): Promise<ExecutorFlattenReply> {
    return this.serial(async () => {
      if (req.incidentId && (await this.deps.state.flattened(req.incidentId))) {
        this.runs.inc({ result: 'already_flat' });
        this.log.info({ incidentId: req.incidentId, requestedBy: req.requestedBy }, 'incident already flattened; nothing sent to the broker');
        return this.reply({ closed: [], failed: [], canceledOrders: 0 }, true);
      }
      const marker: FlattenMarker = { incidentId: req.incidentId ?? null, requestedBy: req.requestedBy, reason: req.reason, startedAt: new Date(this.now()).toISOString() };
      return this.reply(await this.run(marker), false);
    });
  }

  /** At start: if a flatten was interrupted, halt at once and finish it in the background. */
  async resumeInterrupted(): Promise<void> {
    const marker = await this.deps.state.flattenMarker();
    if (!marker) return;
    this.log.warn({ marker }, 'found an interrupted flatten; halting and finishing it');
    await this.deps.halt.halt(`flatten: ${marker.reason}`, marker.incidentId);
    void this.serial(() => this.run(marker));
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.bookkeepingTimer) clearTimeout(this.bookkeepingTimer);
  }

  /**
   * Run `fn` while no flatten runs, and no flatten starts until it ends. Signals are placed through this, so
   * an order can never slip out between a flatten's cancel/close and its halt taking effect.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.serial(fn);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async run(marker: FlattenMarker): Promise<RunResult> {
    const log = this.log.child({ incidentId: marker.incidentId });
    const result: RunResult = { closed: [], failed: [], canceledOrders: 0 };
    this.markerToClear = false; // this run owns the marker now, and removes it only when it completes
    try {
      await this.deps.state.setFlattenMarker(marker);
      await this.deps.halt.halt(`flatten: ${marker.reason}`, marker.incidentId);
      const canceled = await this.deps.call('cancel all orders', () => this.deps.orders.deleteAllOrders());
      result.canceledOrders = canceled.filter((c) => (c.status ?? 200) < 300).length;
      const answers = await this.deps.call('close all positions', () => this.deps.positions.deleteAllOpenPositions({ cancelOrders: true }));
      for (const a of answers) {
        if (a.status >= 200 && a.status < 300) await this.closed(result, a.symbol, a.body);
        else result.failed.push({ symbol: a.symbol, error: `broker answered HTTP ${a.status} for this position` });
      }
      await this.retryFailed(result, log);
    } catch (err) {
      result.error = err instanceof Error ? err.message : String(err);
      log.error({ err }, 'flatten could not reach the broker; will retry');
    }

    if (!result.error && result.failed.length === 0) {
      if (marker.incidentId) {
        this.unrecorded.push({ incidentId: marker.incidentId, completedAt: new Date(this.now()).toISOString(), closed: result.closed, canceledOrders: result.canceledOrders });
      }
      this.markerToClear = true;
      await this.bookkeep();
      this.retryAttempt = 0;
      this.runs.inc({ result: 'done' });
      log.warn({ closed: result.closed, canceledOrders: result.canceledOrders }, 'flatten complete; executor stays halted');
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
      if (this.bookkeepingAttempt > 0) this.log.info({ attempts: this.bookkeepingAttempt + 1 }, 'flatten bookkeeping saved after retrying');
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
      const delayMs = Math.max(this.deps.retry.initialMs, backoffDelay(this.deps.retry, this.bookkeepingAttempt++));
      this.log.error({ err, pending, delayMs, attempt: this.bookkeepingAttempt }, 'flatten done at the broker, but its bookkeeping could not be saved; retrying');
      this.bookkeepingTimer = setTimeout(() => {
        this.bookkeepingTimer = null;
        void this.serial(() => this.bookkeep());
      }, delayMs);
    }
  }

  /** Close positions one by one (DELETE /v2/positions/{symbol}) with backoff; gone (404) counts as closed. */
  private async retryFailed(result: RunResult, log: Logger): Promise<void> {
    const attempts = this.deps.inlineAttempts ?? 3;
    for (let attempt = 0; attempt < attempts && result.failed.length > 0; attempt++) {
      await sleep(Math.max(this.deps.retry.initialMs, backoffDelay(this.deps.retry, attempt)));
      const still: Failed[] = [];
      for (const f of result.failed) {
        try {
          const order = await this.deps.call('close position', () => this.deps.positions.deleteOpenPosition({ symbolOrAssetId: f.symbol }));
          await this.closed(result, f.symbol, order);
        } catch (err) {
          if (err instanceof BrokerError && err.failure.kind === 'not_found') continue;
          still.push({ symbol: f.symbol, error: err instanceof Error ? err.message : String(err) });
        }
      }
      log.warn({ attempt: attempt + 1, failed: still }, still.length ? 'positions still not closed' : 'remaining positions closed');
      result.failed = still;
    }
  }

  private async closed(result: RunResult, symbol: string, order: trading.Order | undefined): Promise<void> {
    result.closed.push({ symbol, qty: signedQty(order), orderId: order?.id ?? null });
    if (order?.id) await this.deps.tracker.track(order, { signalId: null, announce: true });
  }

  private scheduleRetry(marker: FlattenMarker): void {
    if (this.stopped || this.retryTimer) return;
    const delay = Math.max(this.deps.retry.initialMs, backoffDelay(this.deps.retry, this.retryAttempt++));
    this.log.warn({ delayMs: delay, attempt: this.retryAttempt }, 'flatten incomplete; trying again');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.serial(() => this.run(marker));
    }, delay);
  }

  private reply(r: RunResult, alreadyFlat: boolean): ExecutorFlattenReply {
    const problem = r.error ?? (r.failed.length ? `${r.failed.length} position(s) not closed yet; retrying in the background` : undefined);
    return {
      v: 1,
      ok: !problem,
      at: new Date(this.now()).toISOString(),
      ...(problem ? { error: problem } : {}),
      closed: r.closed,
      failed: r.failed,
      canceledOrders: r.canceledOrders,
      alreadyFlat,
      halt: this.deps.halt.current(),
    };
  }
}
