import { EXT_TIMESTAMP, ExtensionCodec, decode, decodeTimestampToTimeSpec, encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodeClient, encodeFrames, parseTimeSpec } from './msgpack.js';

describe('msgpack framing', () => {
  it('keeps nanoseconds in the timestamp extension the SDK decodes', () => {
    const bytes = encodeFrames([{ T: 't', S: 'SPY', t: '2026-01-06T14:30:01.123456789Z' }], 'msgpack') as Uint8Array;
    // The same decode-only codec the SDK registers (src/streaming/timestamp.ts).
    const codec = new ExtensionCodec();
    codec.register({ type: EXT_TIMESTAMP, encode: () => null, decode: (data) => decodeTimestampToTimeSpec(data) });
    const [frame] = decode(bytes, { extensionCodec: codec }) as [{ t: { sec: number; nsec: number } }];
    expect(frame.t).toEqual({ sec: 1767709801, nsec: 123456789 });
    expect((decode(bytes) as [{ t: Date }])[0].t.toISOString()).toBe('2026-01-06T14:30:01.123Z');
  });

  it('sends JSON text unchanged and parses either client encoding', () => {
    expect(encodeFrames([{ T: 'b', t: '2026-01-06T14:30:00Z' }], 'json')).toBe(
      '[{"T":"b","t":"2026-01-06T14:30:00Z"}]',
    );
    expect(decodeClient(Buffer.from(encode({ action: 'auth' })), true)).toEqual({ action: 'auth' });
    expect(decodeClient(Buffer.from('{"action":"auth"}'), false)).toEqual({ action: 'auth' });
    expect(() => decodeClient(Buffer.from('{nope'), false)).toThrow();
    expect(parseTimeSpec('2026-01-06T14:30:00Z')).toEqual({ sec: 1767709800, nsec: 0 });
  });
});
