import { readFileSync } from 'node:fs';
import { createLogger, installShutdown, loadConfig } from '@vigil/service-kit';
import { chaosSchedule, generateChaos, type ChaosEntry } from './chaos.js';
import { argvToEnv, HELP, simConfig, type SimConfig } from './config.js';
import { startSim } from './sim.js';

function chaosFrom(cfg: SimConfig): ChaosEntry[] | undefined {
  if (cfg.SIM_CHAOS_FILE) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(cfg.SIM_CHAOS_FILE, 'utf8'));
    } catch (err) {
      process.stderr.write(
        `alpaca-sim: cannot read SIM_CHAOS_FILE ${cfg.SIM_CHAOS_FILE} as JSON: ${(err as Error).message}\n`,
      );
      process.exit(2);
    }
    const parsed = chaosSchedule.safeParse(json);
    if (!parsed.success) {
      process.stderr.write(
        `alpaca-sim: SIM_CHAOS_FILE ${cfg.SIM_CHAOS_FILE} is not a chaos schedule: ${parsed.error.message}\n`,
      );
      process.exit(2);
    }
    return parsed.data;
  }
  return cfg.SIM_CHAOS_SEED !== undefined ? generateChaos(cfg.SIM_CHAOS_SEED, 390, 12) : undefined;
}

let args: ReturnType<typeof argvToEnv>;
try {
  args = argvToEnv(process.argv.slice(2), process.env);
} catch (err) {
  process.stderr.write(`alpaca-sim: ${(err as Error).message}\n\n${HELP}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const cfg = loadConfig('alpaca-sim', simConfig, args.env);
// Logs go to stderr so stdout carries only the one JSON line other tools read.
const logger = createLogger({
  name: 'alpaca-sim',
  level: cfg.LOG_LEVEL,
  secrets: [cfg.SIM_SECRET_KEY],
  destination: process.stderr,
});
const chaos = chaosFrom(cfg);
const sim = await startSim({
  host: cfg.SIM_HOST,
  port: cfg.SIM_PORT,
  symbols: cfg.SIM_SYMBOLS,
  sparseSymbols: cfg.SIM_SPARSE_SYMBOLS,
  seed: cfg.SIM_SEED,
  clock: { start: cfg.SIM_START, msPerMinute: cfg.SIM_MINUTE_MS },
  keys: { [cfg.SIM_KEY_ID]: cfg.SIM_SECRET_KEY },
  zombieGraceMs: cfg.SIM_ZOMBIE_GRACE_MS,
  authTimeoutMs: cfg.SIM_AUTH_TIMEOUT_MS,
  serverPingIntervalMs: cfg.SIM_PING_INTERVAL_MS,
  restRateLimit: cfg.SIM_REST_RATE_LIMIT,
  margin: cfg.SIM_MARGIN,
  ...(chaos ? { chaos } : {}),
  logger,
});
process.stdout.write(
  `${JSON.stringify({ streamUrl: sim.wsUrl, restUrl: sim.url, adminUrl: `${sim.url}/sim`, keyId: cfg.SIM_KEY_ID, feeds: ['iex', 'sip', 'delayed_sip', 'test'], symbols: sim.symbols, msPerMinute: cfg.SIM_MINUTE_MS, start: cfg.SIM_START })}\n`,
);
logger.info({ url: sim.url, chaosEntries: chaos?.length ?? 0 }, 'alpaca-sim listening');
installShutdown({ logger, timeoutMs: 5000, tasks: () => [{ name: 'sim', run: () => sim.close() }] });
