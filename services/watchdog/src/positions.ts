import { symbol } from '@vigil/contracts';
import { signedQty, type AlpacaRest, type Logger, type Metrics } from '@vigil/service-kit';
import * as z from 'zod';

export type PositionsSource = Pick<AlpacaRest['positions'], 'getAllOpenPositions'>;

/** The rest of the broker's book the status page shows (`createAlpacaRest(config)` is one). */
export interface AccountSource {
  orders: Pick<AlpacaRest['orders'], 'getAllOrders'>;
  account: Pick<AlpacaRest['account'], 'getAccount'>;
}

/** Alpaca sends money and quantities as decimal strings; the SDK passes them on as strings. */
const decimal = z.coerce.number().finite();

/** The fields we use of Alpaca's position, as the SDK hands them over (camelCase, numbers as strings). */
const Position = z.object({
  symbol,
  qty: decimal,
  side: z.enum(['long', 'short']).optional(),
  marketValue: decimal.nullish(),
  unrealizedPl: decimal.nullish(),
  unrealizedIntradayPl: decimal.nullish(),
});

export interface HeldPosition {
  symbol: string;
  /** Signed: short negative. */
  qty: number;
  marketValue: number | null;
  /** Since the position was opened, as the broker reports it. */
  unrealizedPl: number | null;
  /** Since the last close (or since opened today), as the broker reports it. */
  unrealizedIntradayPl: number | null;
}

const Order = z.object({
  id: z.string().min(1),
  // Any symbol the account trades, not only Vigil's: one order we would not trade must not hide the others.
  symbol: z.string().min(1),
  side: z.enum(['buy', 'sell']),
  type: z.string().min(1),
  status: z.string().min(1),
  /** Null for an order by notional (dollars). */
  qty: decimal.nullish(),
  notional: decimal.nullish(),
  filledQty: decimal.nullish(),
  limitPrice: decimal.nullish(),
  stopPrice: decimal.nullish(),
  submittedAt: z.coerce.date().nullish(),
});

export interface OpenOrder {
  id: string;
  symbol: string;
  side: 'buy' | 'sell';
  type: string;
  status: string;
  qty: number | null;
  notional: number | null;
  filledQty: number;
  limitPrice: number | null;
  stopPrice: number | null;
  submittedAt: string | null;
}

const Account = z.object({ equity: decimal, lastEquity: decimal });

export interface AccountFigures {
  equity: number;
  /** Equity at the previous trading day's close (Alpaca's `last_equity`). */
  lastEquity: number;
  /** `equity − lastEquity`: realised and unrealised together, plus any deposit or fee of the day. */
  dayPl: number;
}

/** What one refresh read of the broker's book; a part is null when its read failed (unknown, not zero). */
export interface BrokerBook {
  readAt: number;
  positions: HeldPosition[] | null;
  orders: OpenOrder[] | null;
  account: AccountFigures | null;
}

/** Parse the broker's `read` answer as `schema` (`expected`), or throw an error saying what is wrong with it. */
function parse<S extends z.ZodType>(schema: S, answer: unknown, read: string, expected: string): z.infer<S> {
  const r = schema.safeParse(answer);
  if (!r.success)
    throw new Error(`the broker's ${read} answer is not ${expected}: ${z.prettifyError(r.error)}`, {
      cause: r.error,
    });
  return r.data;
}

/** Non-flat positions with their signed quantity; throws a clear error on an answer we cannot read. */
export function parsePositions(answer: unknown): HeldPosition[] {
  return parse(z.array(Position), answer, 'positions', 'a list of positions')
    .map((p) => ({
      symbol: p.symbol,
      qty: signedQty(p.qty, p.side),
      marketValue: p.marketValue ?? null,
      unrealizedPl: p.unrealizedPl ?? null,
      unrealizedIntradayPl: p.unrealizedIntradayPl ?? null,
    }))
    .filter((p) => p.qty !== 0);
}

/** Signed quantities by symbol, as the rules judge held positions. */
export const heldBySymbol = (held: HeldPosition[]): Record<string, number> =>
  Object.fromEntries(held.map((p) => [p.symbol, p.qty]));

export function parseOpenOrders(answer: unknown): OpenOrder[] {
  return parse(z.array(Order), answer, 'open orders', 'a list of orders').map((o) => ({
    id: o.id,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    status: o.status,
    qty: o.qty ?? null,
    notional: o.notional ?? null,
    filledQty: o.filledQty ?? 0,
    limitPrice: o.limitPrice ?? null,
    stopPrice: o.stopPrice ?? null,
    submittedAt: o.submittedAt?.toISOString() ?? null,
  }));
}

export function parseAccount(answer: unknown): AccountFigures {
  const a = parse(Account, answer, 'account', 'an account with equity and last_equity');
  // In cents, so 100000.10 − 100000.00 reads 0.1 and not 0.09999999999126885.
  return { equity: a.equity, lastEquity: a.lastEquity, dayPl: Math.round((a.equity - a.lastEquity) * 100) / 100 };
}

type Part = 'positions' | 'orders' | 'account';
const unreadable: Record<Part, string> = {
  positions: "cannot read the broker's positions; judging held positions by the last answer until it reads again",
  orders: "cannot read the broker's open orders; the status page shows them as unknown until it reads again",
  account: "cannot read the broker's account; the status page shows its P&L as unknown until it reads again",
};

/**
 * Reads the broker's positions, open orders and account every `refreshMs`. Positions feed `position_unmanaged`:
 * the watchdog asks the broker itself rather than the executor, so a stuck executor cannot hide a position; a
 * failing read keeps the rules' last answer (a position does not vanish because we cannot see it). The book the
 * status page shows is only what the last refresh read: a part that failed is unknown, never an old figure.
 * Each part's run of failures is logged once and counted.
 */
export class PositionsWatcher {
  private timer: NodeJS.Timeout | null = null;
  private readonly failing = new Set<Part>();
  private busy = false;
  private last: BrokerBook | null = null;
  private readonly log: Logger;
  private readonly positionReads;
  private readonly accountReads;

  constructor(
    private readonly source: PositionsSource,
    private readonly accountSource: AccountSource,
    private readonly refreshMs: number,
    private readonly onPositions: (bySymbol: Record<string, number>) => void,
    logger: Logger,
    metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {
    this.log = logger.child({ component: 'positions' });
    this.positionReads = metrics.counter(
      'watchdog_positions_reads_total',
      "Reads of the broker's positions, by outcome",
      ['outcome'],
    );
    this.accountReads = metrics.counter(
      'watchdog_account_reads_total',
      "Reads of the broker's open orders and account (the status page's), by read and outcome",
      ['read', 'outcome'],
    );
  }

  start(): void {
    void this.read();
    this.timer = setInterval(() => void this.read(), this.refreshMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The last refresh's read, or null before the first one finished. */
  book(): BrokerBook | null {
    return this.last;
  }

  async read(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const [positions, orders, account] = await Promise.all([
        this.part('positions', async () => parsePositions(await this.source.getAllOpenPositions())),
        this.part('orders', async () =>
          parseOpenOrders(await this.accountSource.orders.getAllOrders({ status: 'open', limit: 500 })),
        ),
        this.part('account', async () => parseAccount(await this.accountSource.account.getAccount())),
      ]);
      this.last = { readAt: this.now(), positions, orders, account };
      if (positions) this.onPositions(heldBySymbol(positions));
    } finally {
      this.busy = false;
    }
  }

  /** One read: its value, or null after logging the start (and end) of a run of failures once, counted. */
  private async part<T>(part: Part, read: () => Promise<T>): Promise<T | null> {
    const count = (outcome: 'ok' | 'error') =>
      part === 'positions' ? this.positionReads.inc({ outcome }) : this.accountReads.inc({ read: part, outcome });
    try {
      const value = await read();
      count('ok');
      if (this.failing.delete(part)) this.log.info({ read: part }, `broker's ${part} readable again`);
      return value;
    } catch (err) {
      count('error');
      if (!this.failing.has(part)) this.log.warn({ err, read: part }, unreadable[part]);
      this.failing.add(part);
      return null;
    }
  }
}
