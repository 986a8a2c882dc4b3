import { describe, expect, it } from 'vitest';
import { KeySlots } from './key-slots.js';

describe('KeySlots', () => {
  it('allows one session per key and holds a zombie after an unclean close', () => {
    let now = 0;
    const slots = new KeySlots<string>(90_000, () => now);
    expect(slots.acquire('K', 'a')).toBe(true);
    expect(slots.acquire('K', 'b')).toBe(false);
    slots.release('K', 'a', true);
    expect(slots.acquire('K', 'b')).toBe(false);
    now = 90_001;
    expect(slots.acquire('K', 'b')).toBe(true);
    slots.release('K', 'b', false);
    expect(slots.acquire('K', 'c')).toBe(true);
    slots.release('K', 'c', true);
    expect(slots.forgetZombie('K')).toBe(true);
    expect(slots.acquire('K', 'd')).toBe(true);
  });
});
