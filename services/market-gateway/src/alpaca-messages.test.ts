import { describe, expect, it } from 'vitest';
import { parseFrame } from './alpaca-messages.js';

describe('parseFrame', () => {
  it('reads a batched frame of mixed data messages', () => {
    const frame = JSON.stringify([
      { T: 'b', S: 'SPY', o: 600, h: 601, l: 599.5, c: 600.5, v: 1200, t: '2026-11-27T15:31:00Z', n: 31, vw: 600.2 },
      { T: 't', S: 'SPY', i: 1, x: 'V', p: 600.4, s: 100, c: ['@'], t: '2026-11-27T15:32:00.123456789Z', z: 'B' },
    ]);
    const { messages, invalid } = parseFrame(frame);
    expect(invalid).toEqual([]);
    expect(messages.map((m) => m.T)).toEqual(['b', 't']);
  });

  it('keeps the good messages of a frame and reports each bad one readably', () => {
    const frame = JSON.stringify([
      { T: 'b', S: 'SPY', o: 600, h: 'high', l: 599.5, c: 600.5, v: 1, t: '2026-11-27T15:31:00Z' },
      { T: 'success', msg: 'authenticated' },
      { T: 'zz' },
    ]);
    const { messages, invalid } = parseFrame(frame);
    expect(messages).toEqual([{ T: 'success', msg: 'authenticated' }]);
    expect(invalid).toHaveLength(2);
    expect(invalid[0]).toMatch(/h/);
  });

  it('reports a frame that is not JSON', () => {
    expect(parseFrame('{"T":').invalid[0]).toMatch(/not JSON/);
  });

  it('accepts a subscription ack that omits channels', () => {
    const { messages } = parseFrame('[{"T":"subscription","trades":[],"quotes":["FAKEPACA"],"bars":["FAKEPACA"]}]');
    expect(messages[0]).toMatchObject({ T: 'subscription', bars: ['FAKEPACA'] });
  });
});
