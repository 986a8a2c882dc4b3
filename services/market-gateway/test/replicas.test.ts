import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startSim, type Sim } from '@vigil/alpaca-sim';
import { Bar, decodeOn, decodeStored, GatewayHeartbeat, StandbyHeartbeat, streams, subjects } from '@vigil/contracts';
import { startNats, waitFor, type NatsServerHandle } from '@vigil/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactlyOnce, FAST, spawnGateway, type GatewayProcess } from './harness.js';

const SYMBOLS = ['SPY', 'AAPL'];
const LEASE_TTL_MS = 1500;
let server: NatsServerHandle;
let sim: Sim;
let nc: NatsConnection;
/** Who sent the last heartbeat on md.heartbeat (the leader), and the md.standby beats of each process. */
const seen = { leader: '', leaderAt: 0, standby: new Map<string, number>() };
const children: GatewayProcess[] = [];

beforeAll(async () => {
  server = await startNats({ own: true });
  sim = await startSim({
    symbols: SYMBOLS,
    clock: { msPerMinute: 300 },
    serverPingIntervalMs: 200,
    zombieGraceMs: 3000,
  });
  nc = await connect({ servers: server.url });
  nc.subscribe(subjects.heartbeat, {
    callback: (_e, m) => {
      const hb = decodeOn(GatewayHeartbeat, m.subject, m.data);
      if (hb.ok) Object.assign(seen, { leader: hb.value.instanceId, leaderAt: Date.now() });
    },
  });
  nc.subscribe(subjects.gatewayStandby, {
    callback: (_e, m) => {
      const hb = decodeOn(StandbyHeartbeat, m.subject, m.data);
      if (hb.ok) seen.standby.set(hb.value.instanceId, (seen.standby.get(hb.value.instanceId) ?? 0) + 1);
    },
  });
});
afterAll(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await nc?.close();
  await sim?.close();
  await server?.cleanup();
});

function run(replicaId: string): GatewayProcess {
  const handle = spawnGateway({
    natsUrl: server.url,
    sim,
    symbols: SYMBOLS,
    replicaId,
    env: { ...FAST.env, LEASE_TTL_MS: String(LEASE_TTL_MS) },
  });
  children.push(handle);
  return handle;
}

async function storedBars(): Promise<Bar[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(streams.bars.name).catch(() => null);
  const bars: Bar[] = [];
  for (let seq = info?.state.first_seq ?? 1; info && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(streams.bars.name, { seq }).catch(() => null);
    if (m) bars.push(decodeStored(Bar, m));
  }
  return bars;
}

/** Every bar the simulator emitted so far is stored once, in order (waiting for the last ones to land). */
async function everyBarOnce(): Promise<string[]> {
  const snapshot = new Map(SYMBOLS.map((s) => [s, [...sim.emittedBars(s)]]));
  const check = async () => exactlyOnce(await storedBars(), (s) => snapshot.get(s) ?? [], SYMBOLS);
  await waitFor('every emitted bar stored', async () => (await check()).length === 0, { timeoutMs: 20_000 }).catch(
    () => {},
  );
  return check();
}

/** The process has stood by for a few beats (not merely started: every replica stands by until its first read). */
const standingBy = (p: GatewayProcess) => () => (seen.standby.get(p.instanceId()) ?? 0) >= 3;
const leaderIs = (p: GatewayProcess) => () => seen.leader === p.instanceId() && Date.now() - seen.leaderAt < 500;
const minutesPass = async (n: number) => {
  const target = sim.emittedBars('SPY').length + n;
  await waitFor(`${n} simulated minutes`, () => sim.emittedBars('SPY').length >= target, { timeoutMs: 20_000 });
};

describe('two market-gateway replicas, one lease', () => {
  it('kill -9 of the leader: the standby takes over and no bar is lost or doubled', async () => {
    const a = run('gw-a');
    await waitFor('gw-a leading', leaderIs(a), { timeoutMs: 30_000 });
    const b = run('gw-b');
    await waitFor('gw-b standing by', standingBy(b), { timeoutMs: 30_000 });
    await minutesPass(5);
    expect(leaderIs(a)()).toBe(true);

    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await waitFor('gw-b leading', leaderIs(b), { timeoutMs: 20_000 });
    // Within the TTL, a third of it for the standby's next read, and its start (generous for a loaded machine).
    expect(Date.now() - killedAt).toBeLessThan(LEASE_TTL_MS * 2 + 8000);
    await minutesPass(10);
    expect(await everyBarOnce()).toEqual([]);
  }, 120_000);

  it('SIGSTOP of the leader: the standby takes over; the old leader wakes, steps down, publishes nothing', async () => {
    const b = children.find((c) => leaderIs(c)())!;
    expect(b).toBeDefined();
    const a = run('gw-a');
    await waitFor('gw-a standing by', () => standingBy(a)() && leaderIs(b)(), { timeoutMs: 30_000 });
    await minutesPass(3);

    b.child.kill('SIGSTOP');
    await waitFor('gw-a leading', leaderIs(a), { timeoutMs: 20_000 });
    await minutesPass(5);
    const before = seen.standby.get(b.instanceId()) ?? 0;
    b.child.kill('SIGCONT');
    await waitFor('gw-b standing by again', () => (seen.standby.get(b.instanceId()) ?? 0) > before, {
      timeoutMs: 20_000,
    });
    expect(b.out()).toMatch(/lost the gateway lease/);
    // Frozen while leading, it woke fenced: no heartbeat of its own on md.heartbeat since (the watchdog would
    // otherwise see the gateway flip between two processes).
    expect(seen.leader).toBe(a.instanceId());
    await minutesPass(5);
    expect(leaderIs(a)()).toBe(true);
    expect(await everyBarOnce()).toEqual([]);
  }, 120_000);
});
