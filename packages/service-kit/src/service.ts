import { randomUUID } from 'node:crypto';
import type * as z from 'zod';
import { loadConfig, type Env } from './config.js';
import { NatsConnectError } from './errors.js';
import { startHttpServer, type HttpServer, type RouteHandler } from './http.js';
import { startHealthReporter, type ServiceHealth } from './health-reporter.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { connectNats, type NatsConnection } from './nats.js';
import { Readiness } from './readiness.js';
import { installShutdown, type ShutdownTask } from './shutdown.js';

/** The settings `startService` reads; every service schema extends `baseConfig`. */
interface BaseSettings {
  NATS_URL: string;
  NATS_USER?: string | undefined;
  NATS_PASS?: string | undefined;
  NATS_INBOX_PREFIX?: string | undefined;
  NATS_TLS_CA?: string | undefined;
  LOG_LEVEL: string;
  HTTP_HOST: string;
  HTTP_PORT: number;
  SHUTDOWN_TIMEOUT_MS: number;
  HEALTH_INTERVAL_MS: number;
}

export interface ServiceRuntime<C> {
  name: string;
  instanceId: string;
  /** The service's package.json version, for its health reports and its NATS service. */
  version: string;
  startedAt: Date;
  config: C;
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  http: HttpServer;
  nc: NatsConnection;
  /** Register work to stop before NATS drains (consumers, timers, sockets). Run in registration order. */
  onShutdown(task: ShutdownTask): void;
  /** Wiring done: `/readyz` stops reporting "starting up" (the domain's own readiness parts still count). */
  started(): void;
  shutdown(reason: string): Promise<void>;
}

export interface StartServiceOptions<S extends z.ZodType> {
  name: string;
  /** `packageVersion(import.meta.url)` from main.ts. */
  version: string;
  configSchema: S;
  env?: Env;
  /** Which config values are secrets, so their values are scrubbed from every log line. */
  secrets?: (config: z.infer<S>) => (string | undefined)[];
  routes?: Record<string, RouteHandler>;
  /**
   * The service's own account in its `health.<service>` report, read at each report (`HEALTH_INTERVAL_MS`) from
   * the NATS connection until shutdown; null (or unset) until its domain is wired. Readiness is added by the kit.
   */
  health?: () => ServiceHealth | null;
}

/**
 * The common start-up every service shares: config (exit 2 when wrong), logger, metrics, HTTP health,
 * NATS, health reports, and graceful shutdown. Services only add their own domain on top.
 */
export async function startService<S extends z.ZodType<BaseSettings>>(
  opts: StartServiceOptions<S>,
): Promise<ServiceRuntime<z.infer<S>>> {
  const config = loadConfig(opts.name, opts.configSchema, opts.env);
  const logger = createLogger({
    name: opts.name,
    level: config.LOG_LEVEL,
    secrets: [config.NATS_PASS, ...(opts.secrets?.(config) ?? [])],
  });
  const instanceId = `${opts.name}-${randomUUID().slice(0, 8)}`;
  const startedAt = new Date();
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception; exiting so the supervisor restarts a clean process');
    logger.flush();
    process.exit(1);
  });

  const metrics = new Metrics(opts.name);
  const readiness = new Readiness();
  // Not ready until main.ts says the service is wired, however quickly NATS connects.
  readiness.set('startup', false, 'starting up');
  const http = await startHttpServer({
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    logger,
    metrics,
    readiness,
    routes: opts.routes ?? {},
  });
  const nc = await connectNats({
    url: config.NATS_URL,
    name: instanceId,
    user: config.NATS_USER,
    pass: config.NATS_PASS,
    inboxPrefix: config.NATS_INBOX_PREFIX,
    tlsCaFile: config.NATS_TLS_CA,
    logger,
    metrics,
    readiness,
  }).catch((err: unknown) => {
    if (!(err instanceof NatsConnectError)) throw err;
    // Retrying cannot fix it (an untrusted certificate, TLS on one side only): one line saying what to change.
    logger.fatal(err.message);
    logger.flush();
    return process.exit(1);
  });

  const health = startHealthReporter({
    service: opts.name,
    instanceId,
    version: opts.version,
    startedAt: startedAt.getTime(),
    nc,
    intervalMs: config.HEALTH_INTERVAL_MS,
    health: opts.health ?? (() => null),
    readiness,
    logger,
    metrics,
  });

  const tasks: ShutdownTask[] = [];
  const { shutdown } = installShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    tasks: () => [
      ...tasks,
      { name: 'stop health reports', run: () => health.stop() },
      { name: 'drain NATS', run: () => nc.drain() },
      { name: 'close HTTP', run: () => http.close() },
    ],
  });
  logger.info({ instanceId, version: opts.version, http: http.url }, 'service started');
  return {
    name: opts.name,
    instanceId,
    version: opts.version,
    startedAt,
    config,
    logger,
    metrics,
    readiness,
    http,
    nc,
    onShutdown: (task) => tasks.push(task),
    started: () => {
      readiness.set('startup', true);
      logger.info('service ready');
    },
    shutdown,
  };
}
