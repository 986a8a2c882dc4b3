import { afterEach, describe, expect, it, vi } from 'vitest';
import { FaultBook, InvalidFaultError, parseFault } from './faults.js';

afterEach(() => vi.useRealTimers());

describe('faults', () => {
  it('validates specs, applies defaults and maps the issue names', () => {
    expect(parseFault({ kind: 'handshake-429' }).data).toMatchObject({ kind: 'reject_upgrade', status: 429 });
    expect(parseFault({ kind: 'freeze' }).data).toMatchObject({ kind: 'blackhole' });
    expect(parseFault({ kind: 'conn-limit', count: 2 }).data).toMatchObject({ kind: 'conn_limit', count: 2 });
    expect(parseFault({ kind: 'rest_error', status: 503 }).data).toMatchObject({ scope: 'all', status: 503 });
    expect(parseFault({ kind: 'nope' }).success).toBe(false);
    expect(parseFault({ kind: 'late_bars', delayMs: -1 }).success).toBe(false);
    expect(parseFault({ kind: 'kill_session' }).success).toBe(false);
  });

  it('expires by duration, by count and on clear, and counts uses', () => {
    vi.useFakeTimers();
    const book = new FaultBook(() => 100);
    const expired: string[] = [];
    book.on('expired', (f) => expired.push(f.kind));
    book.inject({ kind: 'stall', durationMinutes: 2 });
    const counted = book.inject({ kind: 'conn-limit', count: 2, key: 'K' }).fault!;
    expect(book.inject({ kind: 'drop' })).toEqual({ fault: null, affected: 0 });
    expect(() => book.inject({ kind: 'stall', durationMs: -5 })).toThrow(InvalidFaultError);
    expect(book.find('conn_limit', 'other')).toBeUndefined();
    book.use(counted);
    expect(book.find('conn_limit', 'K')).toBeDefined();
    book.use(counted);
    expect(book.find('conn_limit', 'K')).toBeUndefined();
    vi.advanceTimersByTime(250);
    expect(book.find('stall')).toBeUndefined();
    expect(expired).toEqual(['conn_limit', 'stall']);
    book.inject({ kind: 'blackhole' });
    expect(book.clear({ kind: 'blackhole' })).toHaveLength(1);
    expect(book.injected).toMatchObject({ stall: 1, conn_limit: 1, drop: 1, blackhole: 1 });
    expect(book.applied).toMatchObject({ conn_limit: 2 });
  });

  it('narrows a REST fault to one route when given one', () => {
    const book = new FaultBook(() => 100);
    book.inject({ kind: 'rest_error', scope: 'trading', route: 'POST /v2/orders', count: 1 });
    expect(book.find('rest_error', undefined, 'trading', 'GET /v2/orders')).toBeUndefined();
    expect(book.find('rest_error', undefined, 'trading', 'GET /v2/clock')).toBeUndefined();
    expect(book.find('rest_error', undefined, 'trading', 'POST /v2/orders')).toBeDefined();
    expect(book.find('rest_error', undefined, 'data', 'POST /v2/orders')).toBeUndefined();
    expect(parseFault({ kind: 'rest_error', route: '/v2/orders' }).success).toBe(false);
  });
});
