import { performance } from 'node:perf_hooks';
import { Bar, bar1mSubject, barMsgId, encode } from '@vigil/contracts';

/** One JetStream publish with its dedup id, resolving on the ack: nats.js's `js.publish` or the gateway's own. */
export type PublishFn = (subject: string, data: Uint8Array, msgId: string) => Promise<unknown>;

/**
 * The bus's own speed, the burst's floor: `count` bar-sized messages, each with its dedup id, published into
 * the BARS stream by `publish` alone (no parsing, ordering or bookkeeping), `inFlight` unacked at a time
 * as a sliding window. Resolves to the milliseconds from the first publish to the last ack.
 */
export async function publishFloor(publish: PublishFn, bars: readonly Bar[], inFlight = 256): Promise<number> {
  const payloads = bars.map((bar) => ({
    subject: bar1mSubject(bar.symbol),
    data: encode(Bar, bar),
    msgID: barMsgId(bar.symbol, bar.t, bar.revision),
  }));
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < payloads.length) {
      const p = payloads[next++]!;
      await publish(p.subject, p.data, p.msgID);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, payloads.length) }, lane));
  return performance.now() - t0;
}
