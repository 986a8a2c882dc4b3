import type { NatsConnection } from '@nats-io/transport-node';
import { decodeOn, HealthReport, subjects } from '@vigil/contracts';
import type { Logger, MarketPhase, Metrics } from '@vigil/service-kit';
import type { WatchdogConfig } from './config.js';
import { ConsumerInfoReader } from './consumer-info.js';
import { emptyLagWatch, onConsumerRead, type LagWatch } from './consumer-lag.js';
import type { Action } from './drafts.js';
import {
  evaluateServices,
  initialServices,
  isWatchedService,
  onHealthReport,
  openOutages,
  restoreOutages,
  serviceUp,
  watchedServices,
  type ServiceDown,
} from './service-down.js';
import {
  noteReport,
  servicesLiveness,
  type LastReports,
  type SelfAccount,
  type ServiceLiveness,
} from './services-seen.js';

/** What survives a watchdog restart (stored with the rules' state): the open outages and lag incidents. */
export interface WatchedState {
  services: Record<string, ServiceDown>;
  lags: Record<string, NonNullable<LagWatch['open']>>;
}

export interface ServiceWatchDeps {
  nc: NatsConnection;
  config: WatchdogConfig;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  /** The market phase as the rules last saw it. */
  phase: () => MarketPhase;
  /** Whether fresh bars are arriving: consumer_lag judges a backlog only then. */
  barsFlowing: () => boolean;
  /** Carries out an action of the decisions (an alert). */
  run: (action: Action) => void;
  /** What the watchdog stored before a restart, if anything. */
  saved: WatchedState | null;
  /** Stores the open incidents after every change. */
  save: (state: WatchedState) => void;
}

/**
 * The watchdog's eye on the other services: `service_down` from their `health.<service>` reports (judged every
 * TICK_MS) and `consumer_lag` from their durable consumers' INFO (every CONSUMER_LAG_CHECK_MS). The decisions are
 * `service-down.ts` and `consumer-lag.ts`; this is their I/O.
 */
export function watchServices(deps: ServiceWatchDeps): {
  stop(): void;
  openCriticals(): string[];
  openCount(): number;
  liveness(self: SelfAccount): ServiceLiveness[];
} {
  const { nc, config, metrics, now } = deps;
  const log = deps.logger.child({ component: 'service-watch' });
  const services = initialServices(now());
  let last: LastReports = {};
  const lags = new Map<string, LagWatch>();
  // Incidents open before a restart stay open: resolved by the next report or read, never paged twice.
  restoreOutages(services, deps.saved?.services ?? {});
  for (const [consumer, open] of Object.entries(deps.saved?.lags ?? {}))
    lags.set(consumer, { ...emptyLagWatch(), open });
  const watched = (): WatchedState => ({
    services: openOutages(services),
    lags: Object.fromEntries([...lags].flatMap(([c, w]) => (w.open ? [[c, w.open]] : []))),
  });
  const runAll = (actions: Action[]) => {
    for (const a of actions) deps.run(a);
    if (actions.length > 0) deps.save(watched());
  };

  // Labelled `watched`: every Vigil metric already carries `service`, the one exporting it.
  const reports = metrics.counter('watchdog_health_reports_total', 'Health reports received, by watched service', [
    'watched',
  ]);
  const bad = metrics.counter('watchdog_bad_messages_total', 'Malformed messages ignored, by stream', ['kind']);
  const up = metrics.gauge(
    'watchdog_service_up',
    '1 while the service reports its health in time, 0 in a service_down outage',
    ['watched'],
  );
  const setUp = () => {
    for (const s of watchedServices) up.set({ watched: s }, serviceUp(services, s));
  };
  setUp();

  const sub = nc.subscribe(subjects.healthAll, {
    callback: (err, msg) => {
      if (err) return log.error({ err }, 'health subscription failed');
      const d = decodeOn(HealthReport, msg.subject, msg.data);
      if (!d.ok) {
        bad.inc({ kind: 'health' });
        return log.warn({ err: d.error, subject: msg.subject }, 'ignored a malformed health report');
      }
      const { service, instanceId } = d.value;
      last = noteReport(last, d.value, now());
      // The watchdog's own report, or a service it does not watch.
      if (!isWatchedService(service)) return;
      reports.inc({ watched: service });
      runAll(onHealthReport(services, service, instanceId, now()));
      setUp();
    },
  });
  const tick = setInterval(() => {
    runAll(evaluateServices({ serviceDownAfterMs: config.SERVICE_DOWN_AFTER_MS }, services, deps.phase(), now()));
    setUp();
  }, config.TICK_MS);

  const lagCfg = {
    consumerLagAlertMs: config.CONSUMER_LAG_ALERT_MS,
    consumerLagCriticalMs: config.CONSUMER_LAG_CRITICAL_MS,
  };
  const reader = new ConsumerInfoReader(
    nc,
    config.CONSUMER_LAG_CHECK_MS,
    (read) => {
      const w = lags.get(read.consumer) ?? emptyLagWatch();
      lags.set(read.consumer, w);
      runAll(onConsumerRead(lagCfg, w, read, deps.barsFlowing(), now()));
    },
    deps.logger,
    metrics,
  );
  reader.start();

  return {
    /** Every service's liveness for the status page, judged down as `service_down` judges it. */
    liveness: (self) => servicesLiveness(services, last, self, now()),
    /** How many service_down and consumer_lag incidents are open. */
    openCount: () => {
      const w = watched();
      return Object.keys(w.services).length + Object.keys(w.lags).length;
    },
    /** Open incidents at critical severity (those carried over a restart raise no second `open`). */
    openCriticals: () => {
      const w = watched();
      return [...Object.values(w.services), ...Object.values(w.lags)].filter((i) => i.critical).map((i) => i.id);
    },
    stop: () => {
      clearInterval(tick);
      reader.stop();
      sub.unsubscribe();
    },
  };
}
