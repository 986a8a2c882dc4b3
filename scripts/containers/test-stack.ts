// One compose stack for a test file: settings written, image built, every container healthy, the ops login
// connected; and its end: logs kept in .vigil/containers, the login closed, `down -v`.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Bar, streams } from '@vigil/contracts';
import { waitFor } from '@vigil/service-kit/testing';
import { barLedger, lastCommonMinute, type Ledger } from './bar-ledger.js';
import { caFile, type StackSettings, writeStackEnv } from './compose-env.js';
import { ComposeStack, repoRoot, testProjectName } from './compose-stack.js';
import { type OpsWatch, watchAsOps } from './ops-watch.js';

export interface TestStack {
  stack: ComposeStack;
  settings: StackSettings;
  ops: OpsWatch;
  /** BARS now, and its ledger per symbol. */
  ledger(): Promise<{ bars: Bar[]; ledger: Ledger }>;
  /** Wait until every symbol has a bar `minutes` market minutes past the latest minute all had now. */
  barsAdvance(minutes: number, timeoutMs?: number): Promise<Ledger>;
  /**
   * BARS once no symbol has a missing minute (a backfill may still be landing), or as it is when that does not
   * come within `timeoutMs`: the caller's assertion then shows the holes.
   */
  settled(timeoutMs?: number): Promise<{ bars: Bar[]; ledger: Ledger }>;
  /** Keep the logs, close the login, `down -v`; never throws (afterAll). Resolves to down's error, if any. */
  end(): Promise<string | null>;
}

const logDir = join(repoRoot, '.vigil', 'containers');
const CLUSTER = ['nats-1', 'nats-2', 'nats-3'];
const CLUSTER_ATTEMPTS = 3;

/**
 * The three NATS nodes first, healthy only with all three in the JetStream meta group (docker-compose.yml).
 * A fresh cluster on this loaded host sometimes bootstraps with two: that is the precondition of the node-kill
 * test failing, not the test, so it is said in one line and the cluster is formed afresh (`down -v`, up).
 */
async function formCluster(stack: ComposeStack): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await stack.up(CLUSTER.length, 90_000, CLUSTER);
      return;
    } catch (err) {
      if (attempt === CLUSTER_ATTEMPTS) throw err;
      console.warn(
        `[containers] ${stack.project}: the NATS cluster did not form with three nodes (attempt ${attempt}); down -v and again`,
      );
      await stack.down();
    }
  }
}

export async function startTestStack(dir: string, ha: boolean): Promise<TestStack> {
  const settings = await writeStackEnv(dir, { ha });
  const project = testProjectName(ha ? 'ha' : 'single');
  const stack = new ComposeStack(project, settings.file, ha ? ['sim', 'ha'] : ['sim']);
  let ops: OpsWatch | undefined;
  let ended: Promise<string | null> | undefined;
  // Once: the logs are kept before the first `down`, which a test may call before afterAll does.
  const end = () => {
    ended ??= (async () => {
      await mkdir(logDir, { recursive: true });
      await writeFile(join(logDir, `${project}.log`), await stack.logs(100_000)).catch(() => {});
      await ops?.close();
      return stack.down();
    })();
    return ended;
  };
  try {
    if (ha) await formCluster(stack);
    // The first stack builds the image (a cold build takes over a minute here); the ha stack reuses it.
    await stack.up(ha ? 10 : 6, ha ? 180_000 : 300_000);
    ops = await watchAsOps(settings.ports.nats, settings.passwords.ops, caFile);
  } catch (err) {
    const down = await end();
    throw new Error(`${(err as Error).message}\n(logs: ${logDir}/${project}.log${down ? `; down: ${down}` : ''})`);
  }
  const login = ops;
  const ledger = async () => {
    const bars = await login.bars();
    return { bars, ledger: barLedger(bars, settings.symbols) };
  };
  // For probes: a JetStream request that times out while NATS (or a cluster's leader) is away is "not yet".
  let lastError = '';
  const tryLedger = () =>
    ledger().catch((err: Error) => {
      lastError = err.message;
      return null;
    });
  const withLastError = (err: Error) => {
    throw new Error(`${err.message}${lastError ? ` (last read of BARS: ${lastError})` : ''}`);
  };
  return {
    stack,
    settings,
    ops: login,
    ledger,
    async barsAdvance(minutes, timeoutMs = 120_000) {
      const from = await waitFor(
        'a bar of every symbol in BARS',
        async () => {
          const now = await tryLedger();
          return now && lastCommonMinute(now.ledger);
        },
        { timeoutMs, intervalMs: 1000 },
      ).catch(withLastError);
      const target = Date.parse(from) + minutes * 60_000;
      return waitFor(
        `every symbol of ${settings.symbols} to reach ${new Date(target).toISOString()} in ${streams.bars.name}`,
        async () => {
          const seen = (await tryLedger())?.ledger;
          const last = seen && lastCommonMinute(seen);
          return last && Date.parse(last) >= target && seen;
        },
        { timeoutMs, intervalMs: 1000 },
      ).catch(withLastError);
    },
    async settled(timeoutMs = 90_000) {
      const noHoles = async () => {
        const now = await tryLedger();
        return now && Object.values(now.ledger).every((l) => l.holes.length === 0) && now;
      };
      return waitFor('no missing minute in BARS', noHoles, { timeoutMs, intervalMs: 1000 }).catch(() => ledger());
    },
    end,
  };
}
