import type { GatewayHeartbeat, GatewayState } from '@vigil/contracts';
import type { ServiceHealth } from '@vigil/service-kit';

/** States no retry leaves on its own: rejected keys, a wrong setting, a stopped feed. A person must act. */
const NEEDS_A_PERSON: readonly GatewayState[] = ['auth_failed', 'config_error', 'stopped'];

/** Half the bar buffer in use: NATS has been refusing bars for a while (the watchdog's `buffer_high` default too). */
const BUFFER_DEGRADED_FILL = 0.5;

/**
 * The gateway's `health.market-gateway` account, from the heartbeat it already builds: `down` when a person
 * must act, `degraded` while bars do not come live (not streaming, backfill or polling) or the buffer fills,
 * else `ok`. State and data path go in the notes (figures are numbers). Pure.
 */
export function gatewayHealth(hb: GatewayHeartbeat): ServiceHealth {
  const sentAt = Date.parse(hb.sentAt);
  const ageOf = (iso: string | null) => (iso === null ? null : Math.max(0, sentAt - Date.parse(iso)));
  const bufferHigh = hb.bufferFill >= BUFFER_DEGRADED_FILL;
  const status = NEEDS_A_PERSON.includes(hb.state)
    ? 'down'
    : hb.state !== 'streaming' || hb.dataPath !== 'live' || bufferHigh
      ? 'degraded'
      : 'ok';
  return {
    status,
    figures: {
      streaming: hb.state === 'streaming' ? 1 : 0,
      barsLastMinute: hb.barsLastMinute,
      reconnects: hb.reconnects,
      bufferFill: hb.bufferFill,
      bufferedBars: hb.bufferedBars,
      uptimePct: hb.uptimePct,
      lastBarAgeMs: ageOf(hb.lastBarAt),
      liveDownForMs: ageOf(hb.liveDownSince),
    },
    notes: [
      `feed ${hb.state}: ${hb.reason}`,
      `data path ${hb.dataPath} since ${hb.dataPathSince}`,
      ...(bufferHigh ? [`bar buffer ${Math.round(hb.bufferFill * 100)}% full: NATS is refusing bars`] : []),
    ],
  };
}
