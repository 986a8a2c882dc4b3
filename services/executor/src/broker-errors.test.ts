import { ApiError, FetchError, RateLimitError, ValidationError } from '@alpacahq/alpaca-trade-api';
import { describe, expect, it } from 'vitest';
import { classifyBrokerError } from './broker-errors.js';

const res = (status: number) => new Response(null, { status });

describe('classifyBrokerError', () => {
  it('429 is rate limited and carries Retry-After', () => {
    expect(
      classifyBrokerError(new RateLimitError(res(429), 429, undefined, 'too many requests', undefined, 2_000)),
    ).toEqual({
      kind: 'rate_limited',
      status: 429,
      retryAfterMs: 2_000,
      message: 'too many requests',
    });
  });

  it('5xx, 408 and network failures are transient', () => {
    expect(classifyBrokerError(new ApiError(res(503), 503, undefined, 'unavailable'))).toMatchObject({
      kind: 'transient',
      status: 503,
    });
    expect(classifyBrokerError(new ApiError(res(408), 408))).toMatchObject({ kind: 'transient' });
    expect(classifyBrokerError(new FetchError(new Error('ECONNREFUSED'), 'fetch failed'))).toMatchObject({
      kind: 'transient',
      message: 'ECONNREFUSED',
    });
  });

  it("Alpaca's 422 for a reused client_order_id is a duplicate, not a rejection", () => {
    expect(
      classifyBrokerError(new ValidationError(res(422), 422, 40010001, 'client_order_id must be unique')),
    ).toMatchObject({ kind: 'duplicate' });
  });

  it('other 4xx are rejections with the broker message', () => {
    expect(classifyBrokerError(new ApiError(res(403), 403, 40310000, 'insufficient buying power'))).toEqual({
      kind: 'rejected',
      status: 403,
      message: 'insufficient buying power',
    });
    expect(classifyBrokerError(new ValidationError(res(422), 422, 40010001, 'qty must be > 0'))).toMatchObject({
      kind: 'rejected',
      status: 422,
    });
    expect(classifyBrokerError(new ApiError(res(404), 404, undefined, 'order not found'))).toMatchObject({
      kind: 'not_found',
    });
  });
});
