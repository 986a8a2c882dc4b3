import { describe, expect, it } from 'vitest';
import { SimClock } from './clock.js';

describe('SimClock', () => {
  it('runs msPerMinute wall ms per simulated minute and re-anchors on jumps, speed and pause', () => {
    let wall = 1_000;
    const clock = new SimClock({ startMs: 0, msPerMinute: 100, wallNow: () => wall });
    const changes: number[] = [];
    clock.on('change', (s) => changes.push(s.nowMs));
    wall += 50;
    expect(clock.now()).toBe(30_000);
    expect(clock.wallMsUntil(60_000)).toBe(50);
    clock.advance(60_000);
    expect(clock.now()).toBe(90_000);
    clock.setSpeed(1000);
    wall += 1000;
    expect(clock.now()).toBe(150_000);
    clock.setPaused(true);
    wall += 5000;
    expect(clock.now()).toBe(150_000);
    expect(clock.wallMsUntil(160_000)).toBe(Infinity);
    expect(changes).toEqual([90_000, 90_000, 150_000]);
    expect(() => clock.setSpeed(0)).toThrow(/msPerMinute/);
  });
});
