import { describe, expect, it } from 'vitest';
import { pageBars, type DataContext } from './rest-data.js';

const ctx: DataContext = {
  model: { seed: 1, sparse: new Set(), updatedBarRate: 0 },
  now: () => Date.parse('2026-01-06T15:00:30Z'),
};
const q = {
  timeframe: '1Min' as const,
  limit: 7,
  sort: 'asc' as const,
  start: '2026-01-06T14:30:00Z',
  end: '2026-01-06T16:00:00Z',
};

function all(symbols: string[], query: typeof q | (Omit<typeof q, 'sort'> & { sort: 'desc' })) {
  const seen: [string, string][] = [];
  let token: string | undefined;
  do {
    const page = pageBars(ctx, symbols, { ...query, ...(token ? { page_token: token } : {}) });
    if ('error' in page) throw new Error(page.error);
    for (const [s, bars] of page.bars) for (const b of bars) seen.push([s, b.t]);
    token = page.next ?? undefined;
  } while (token);
  return seen;
}

describe('pageBars', () => {
  it('pages symbol by symbol with the limit across symbols, up to the last completed minute', () => {
    const seen = all(['SPY', 'AAPL'], q);
    expect(seen).toHaveLength(60);
    expect(seen[0]).toEqual(['AAPL', '2026-01-06T14:30:00Z']);
    expect(seen.at(-1)).toEqual(['SPY', '2026-01-06T14:59:00Z']);
  });

  it("under rest_lag serves the lagging symbols' minutes that closed that long ago, the others' as usual", () => {
    const page = pageBars({ ...ctx, lag: { ms: 90_000, symbols: ['SPY'] } }, ['SPY', 'AAPL'], { ...q, limit: 1000 });
    if ('error' in page) throw new Error(page.error);
    // Now is 15:00:30; lagging 90 s, REST sees 14:59:00, when 14:58 was the last closed minute.
    expect(page.bars.get('SPY')?.at(-1)?.t).toBe('2026-01-06T14:58:00Z');
    expect(page.bars.get('AAPL')?.at(-1)?.t).toBe('2026-01-06T14:59:00Z');
  });

  it('pages newest first with sort=desc and rejects a forged token', () => {
    const seen = all(['SPY'], { ...q, sort: 'desc' });
    expect(seen[0]![1]).toBe('2026-01-06T14:59:00Z');
    expect(new Set(seen.map((x) => x[1])).size).toBe(30);
    expect(pageBars(ctx, ['SPY'], { ...q, page_token: 'garbage' })).toEqual({ error: 'invalid page token' });
  });
});
