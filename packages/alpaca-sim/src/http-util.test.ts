import { describe, expect, it } from 'vitest';
import { RateLimiter } from './http-util.js';

describe('RateLimiter', () => {
  it('allows N a minute per bucket, then asks to wait until the oldest request leaves the window', () => {
    let now = 0;
    const rl = new RateLimiter(2, () => now);
    expect(rl.take('a').retryAfterSec).toBe(0);
    now = 10_000;
    expect(rl.take('a').remaining).toBe(0);
    expect(rl.take('a').retryAfterSec).toBe(50);
    expect(rl.take('b').retryAfterSec).toBe(0);
    now = 60_001;
    expect(rl.take('a').retryAfterSec).toBe(0);
  });
});
