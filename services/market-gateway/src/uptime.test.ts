import { describe, expect, it } from 'vitest';
import { UptimeTracker } from './uptime.js';

describe('UptimeTracker', () => {
  it('counts streaming time against market-open time only', () => {
    const u = new UptimeTracker();
    expect(u.percent()).toBeNull();
    u.observe(0, false, false); // closed: not counted
    u.observe(1000, true, true);
    u.observe(4000, true, false); // 3 s streaming
    u.observe(5000, true, true); // 1 s down
    u.observe(5000, false, true); // closes
    u.observe(60_000, true, true); // closed span not counted
    expect(u.percent()).toBe(75);
  });
});
