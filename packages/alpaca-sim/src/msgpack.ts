import { EXT_TIMESTAMP, ExtData, decode, encode, encodeTimeSpecToTimestamp } from '@msgpack/msgpack';

/** Parse an RFC-3339 UTC timestamp keeping all nine fraction digits. */
export function parseTimeSpec(iso: string): { sec: number; nsec: number } | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(iso);
  if (!m) return null;
  return { sec: Date.parse(`${m[1]}Z`) / 1000, nsec: Number((m[2] ?? '').padEnd(9, '0')) };
}

/** A server frame with every `t` turned into the msgpack timestamp extension (type −1), as Alpaca sends it. */
function withExtTimestamps(frame: Record<string, unknown>): Record<string, unknown> {
  if (typeof frame.t !== 'string') return frame;
  const spec = parseTimeSpec(frame.t);
  if (!spec) return frame;
  return { ...frame, t: new ExtData(EXT_TIMESTAMP, encodeTimeSpecToTimestamp(spec)) };
}

export type Encoding = 'json' | 'msgpack';

/** Encode one server message (an array of frames) for the wire. */
export function encodeFrames(frames: readonly Record<string, unknown>[], encoding: Encoding): string | Uint8Array {
  if (encoding === 'json') return JSON.stringify(frames);
  return encode(frames.map(withExtTimestamps));
}

/** Decode a client message: text is JSON, binary is msgpack unless it looks like JSON. Throws on garbage. */
export function decodeClient(data: Buffer, isBinary: boolean): unknown {
  if (!isBinary) return JSON.parse(data.toString('utf8'));
  const first = data[0];
  if (first === 0x7b || first === 0x5b) return JSON.parse(data.toString('utf8'));
  return decode(data);
}
