import { setTimeout as sleep } from 'node:timers/promises';
import { Bar, decodeOn, GatewayHeartbeat, StandbyHeartbeat, subjects } from '@vigil/contracts';
import { summarize, waitFor, type Summary } from '@vigil/service-kit/testing';
import { exactlyOnce, spawnGateway, world, type GatewayProcess } from '../test/harness.js';
import { GATEWAY_ENV, MS_PER_MINUTE, SIM } from './settings.js';

/** The gateway's default lease; the bench keeps it so the figures are the ones a user gets. */
export const TAKEOVER: { leaseTtlMs: number; symbols: readonly string[] } = {
  leaseTtlMs: 5000,
  symbols: ['SPY', 'AAPL'],
};

export interface TakeoverRound {
  how: 'kill -9' | 'SIGSTOP';
  /** The signal → the standby's first heartbeat as leader. */
  leaderMs: number;
  /** The signal → the first bar of a new minute on NATS, by any source. */
  firstBarMs: number | null;
  /** The signal → the first live bar (after any 406 lock-out the dead session leaves). */
  firstLiveBarMs: number | null;
  /** Longest wait between two SPY bars arriving on NATS around the take-over. */
  longestSilenceMs: number;
}

export interface TakeoverRun {
  rounds: TakeoverRound[];
  lost: number;
  duplicates: number;
  problems: string[];
}

/**
 * Two gateway processes on one lease, the simulator at one bar per symbol a second. Each round takes the
 * leader away (kill -9 and SIGSTOP in turn) and times, from outside, how long until the standby leads and
 * bars flow again; the taken-away process then comes back as the standby (a fresh process after kill -9, the
 * same one after SIGCONT, which must step down). At the end every bar the simulator emitted is checked
 * exactly once in BARS.
 */
export async function runTakeover(rounds: number, log: (line: string) => void = () => {}): Promise<TakeoverRun> {
  const w = await world({
    ...SIM,
    // Server pings on, as Alpaca's: a frozen leader's session is reaped (then held for the zombie grace) instead of
    // holding the key for as long as the process stays frozen.
    serverPingIntervalMs: 1000,
    symbols: [...TAKEOVER.symbols],
    sparseSymbols: [],
    clock: { start: '2026-01-06T09:30:00-05:00', msPerMinute: MS_PER_MINUTE },
  });
  const standbyBeats = new Map<string, number>();
  const leaderBeats: { at: number; id: string }[] = [];
  const bars: { at: number; bar: Bar }[] = [];
  w.nc.subscribe(subjects.heartbeat, {
    callback: (_e, m) => {
      const hb = decodeOn(GatewayHeartbeat, m.subject, m.data);
      if (hb.ok) leaderBeats.push({ at: Date.now(), id: hb.value.instanceId });
    },
  });
  w.nc.subscribe(subjects.gatewayStandby, {
    callback: (_e, m) => {
      const hb = decodeOn(StandbyHeartbeat, m.subject, m.data);
      if (hb.ok) standbyBeats.set(hb.value.instanceId, (standbyBeats.get(hb.value.instanceId) ?? 0) + 1);
    },
  });
  w.nc.subscribe(subjects.bars1mAll, {
    callback: (_e, m) => {
      const bar = decodeOn(Bar, m.subject, m.data);
      if (bar.ok) bars.push({ at: Date.now(), bar: bar.value });
    },
  });
  const env = { ...GATEWAY_ENV, LEASE_TTL_MS: String(TAKEOVER.leaseTtlMs) };
  const procs: GatewayProcess[] = [];
  const start = (replicaId: string) => {
    const p = spawnGateway({ natsUrl: w.server.url, sim: w.sim, symbols: TAKEOVER.symbols, replicaId, env });
    procs.push(p);
    return p;
  };
  const leads = (p: GatewayProcess) => p.instanceId() !== '' && leaderBeats.at(-1)?.id === p.instanceId();
  const standsBy = async (p: GatewayProcess, beats = 3) => {
    const from = standbyBeats.get(p.instanceId()) ?? 0;
    await waitFor('a standby heartbeat or three', () => (standbyBeats.get(p.instanceId()) ?? 0) >= from + beats, {
      timeoutMs: 30_000,
    });
  };
  try {
    let leader = start('gw-a');
    await waitFor('gw-a leading', () => leads(leader), { timeoutMs: 30_000 });
    let standby = start('gw-b');
    await waitFor('gw-b started', () => standby.instanceId() !== '', { timeoutMs: 30_000 });
    await standsBy(standby);
    await sleep(3 * MS_PER_MINUTE);

    const results: TakeoverRound[] = [];
    for (let r = 0; r < rounds; r++) {
      const how = r % 2 === 0 ? 'kill -9' : 'SIGSTOP';
      const newestBefore = Math.max(...bars.map((b) => Date.parse(b.bar.t)));
      const t0 = Date.now();
      leader.child.kill(how === 'kill -9' ? 'SIGKILL' : 'SIGSTOP');
      const next = standby;
      await waitFor('the standby leading', () => leaderBeats.some((b) => b.at >= t0 && b.id === next.instanceId()), {
        timeoutMs: 30_000,
      });
      const leaderAt = leaderBeats.find((b) => b.at >= t0 && b.id === next.instanceId())!.at;
      await waitFor('a live bar from the new leader', () => bars.some((b) => b.at >= t0 && b.bar.source === 'live'), {
        timeoutMs: 30_000,
      }).catch(() => {});
      await sleep(2 * MS_PER_MINUTE);
      const after = bars.filter((b) => b.at >= t0);
      const spy = bars.filter((b) => b.bar.symbol === 'SPY' && b.at >= t0 - 3 * MS_PER_MINUTE).map((b) => b.at);
      const silences = spy.slice(1).map((at, i) => at - spy[i]!);
      const firstNew = after.find((b) => Date.parse(b.bar.t) > newestBefore);
      const firstLive = after.find((b) => b.bar.source === 'live');
      const round: TakeoverRound = {
        how,
        leaderMs: leaderAt - t0,
        firstBarMs: firstNew ? firstNew.at - t0 : null,
        firstLiveBarMs: firstLive ? firstLive.at - t0 : null,
        longestSilenceMs: Math.max(0, ...silences),
      };
      results.push(round);
      log(
        `round ${r + 1}/${rounds} ${how}: leader after ${round.leaderMs} ms, first new bar ${round.firstBarMs} ms, first live bar ${round.firstLiveBarMs} ms, longest silence ${round.longestSilenceMs} ms`,
      );
      // The one taken away comes back as the standby: a fresh process after kill -9, the woken one after SIGSTOP.
      const old = leader;
      if (how === 'SIGSTOP') old.child.kill('SIGCONT');
      leader = next;
      standby = how === 'SIGSTOP' ? old : start(`gw-${String.fromCharCode(99 + r)}`);
      if (how !== 'SIGSTOP')
        await waitFor('the new standby started', () => standby.instanceId() !== '', { timeoutMs: 30_000 });
      await standsBy(standby);
      await sleep(2 * MS_PER_MINUTE);
    }
    await sleep(3 * MS_PER_MINUTE);
    const snapshot = new Map(TAKEOVER.symbols.map((s) => [s, [...w.sim.emittedBars(s)]]));
    const check = async () => exactlyOnce(await w.storedBars(), (s) => snapshot.get(s) ?? [], [...TAKEOVER.symbols]);
    await waitFor('every emitted bar stored', async () => (await check()).length === 0, { timeoutMs: 20_000 }).catch(
      () => {},
    );
    const problems = await check();
    return {
      rounds: results,
      lost: problems.filter((p) => p.endsWith('missing')).length,
      duplicates: problems.filter((p) => p.endsWith('stored twice')).length,
      problems,
    };
  } finally {
    for (const p of procs) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
    }
    await w.close();
  }
}

export function summaries(run: TakeoverRun): Record<'leader' | 'firstBar' | 'firstLive' | 'silence', Summary> {
  const of = (pick: (r: TakeoverRound) => number | null) =>
    summarize(run.rounds.map(pick).filter((v): v is number => v !== null));
  return {
    leader: of((r) => r.leaderMs),
    firstBar: of((r) => r.firstBarMs),
    firstLive: of((r) => r.firstLiveBarMs),
    silence: of((r) => r.longestSilenceMs),
  };
}
