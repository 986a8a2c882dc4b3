import { describe, expect, it } from 'vitest';
import { eventForStatus, isTerminal, orderChange } from './order-status.js';

describe('order status', () => {
  it('maps broker statuses onto order events', () => {
    expect(eventForStatus('new')).toBe('accepted');
    expect(eventForStatus('pending_new')).toBe('accepted');
    expect(eventForStatus('done_for_day')).toBe('expired');
    expect(eventForStatus('replaced')).toBe('canceled');
    expect(eventForStatus('pending_cancel')).toBeNull();
  });

  it('announces a status change and every new partial fill, nothing else', () => {
    expect(orderChange(null, { status: 'new', filledQty: 0 })).toBe('accepted');
    expect(orderChange({ status: 'new', filledQty: 0 }, { status: 'accepted', filledQty: 0 })).toBeNull();
    expect(orderChange({ status: 'new', filledQty: 0 }, { status: 'partially_filled', filledQty: 3 })).toBe(
      'partially_filled',
    );
    expect(
      orderChange({ status: 'partially_filled', filledQty: 3 }, { status: 'partially_filled', filledQty: 5 }),
    ).toBe('partially_filled');
    expect(
      orderChange({ status: 'partially_filled', filledQty: 5 }, { status: 'partially_filled', filledQty: 5 }),
    ).toBeNull();
    expect(orderChange({ status: 'partially_filled', filledQty: 5 }, { status: 'filled', filledQty: 10 })).toBe(
      'filled',
    );
  });

  it('knows which statuses are final', () => {
    expect(['filled', 'canceled', 'expired', 'rejected', 'replaced'].every(isTerminal)).toBe(true);
    expect(isTerminal('partially_filled')).toBe(false);
  });
});
