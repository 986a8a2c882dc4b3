import { performance } from 'node:perf_hooks';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Bar, bar1mSubject, barMsgId, encode } from '@vigil/contracts';

/**
 * The bus's own speed, the burst's floor: `count` bar-sized messages, each with its dedup id, published into
 * the BARS stream with nats.js alone (no parsing, ordering or bookkeeping), `inFlight` unacked at a time
 * as a sliding window. Resolves to the milliseconds from the first publish to the last ack.
 */
export async function publishFloor(js: JetStreamClient, bars: readonly Bar[], inFlight = 256): Promise<number> {
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
      await js.publish(p.subject, p.data, { msgID: p.msgID });
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, payloads.length) }, lane));
  return performance.now() - t0;
}
