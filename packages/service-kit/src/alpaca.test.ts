import { describe, expect, it } from 'vitest';
import { signedQty } from './alpaca.js';

describe('signedQty', () => {
  it('signs a position by its side, whichever sign Alpaca gave its qty', () => {
    expect(signedQty(20, 'long')).toBe(20);
    expect(signedQty(40, 'short')).toBe(-40);
    expect(signedQty(-40, 'short')).toBe(-40);
    expect(signedQty(3, undefined)).toBe(3);
  });
});
