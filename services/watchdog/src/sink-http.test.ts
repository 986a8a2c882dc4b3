import { describe, expect, it } from 'vitest';
import { httpFailure, retryAfterMs } from './sink-http.js';

describe('retryAfterMs', () => {
  const now = Date.parse('2026-12-02T10:00:00Z');

  it('reads seconds and HTTP dates, and caps what it waits', () => {
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Wed, 02 Dec 2026 10:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Wed, 02 Dec 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('86400', now)).toBe(60_000);
  });

  it('is null when absent or unreadable', () => {
    expect(retryAfterMs(null, now)).toBeNull();
    expect(retryAfterMs('soon', now)).toBeNull();
  });
});

describe('httpFailure', () => {
  it('2xx is a delivery; 408, 429 and 5xx are retried; other 4xx are permanent', () => {
    expect(httpFailure('slack', 202, null)).toBeNull();
    expect(httpFailure('slack', 429, 2000)).toMatchObject({ permanent: false, retryAfterMs: 2000, status: 429 });
    expect(httpFailure('slack', 503, null)).toMatchObject({ permanent: false });
    expect(httpFailure('slack', 408, null)).toMatchObject({ permanent: false });
    const refused = httpFailure('pagerduty', 400, null);
    expect(refused).toMatchObject({ permanent: true, status: 400 });
    expect(refused?.message).toContain('pagerduty refused the alert with HTTP 400; not retried');
  });
});
