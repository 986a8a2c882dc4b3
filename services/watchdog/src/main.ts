import { createAlpacaRest, packageVersion, startService } from '@vigil/service-kit';
import { watchdogConfig } from './config.js';
import { statusRoutes } from './page.js';
import { createWatchdog, type Watchdog } from './watchdog.js';

let watchdog: Watchdog | null = null;
const svc = await startService({
  name: 'watchdog',
  version: packageVersion(import.meta.url),
  configSchema: watchdogConfig,
  secrets: (c) => [
    c.ALERT_WEBHOOK_URL,
    c.SLACK_WEBHOOK_URL,
    c.PAGERDUTY_ROUTING_KEY,
    c.APCA_API_KEY_ID,
    c.APCA_API_SECRET_KEY,
    c.DEADMAN_URL,
    c.DEADMAN_FAIL_URL,
  ],
  routes: statusRoutes(() => watchdog?.status() ?? null),
  health: () => watchdog?.health() ?? null,
});
const rest = createAlpacaRest(svc.config);
watchdog = await createWatchdog({
  nc: svc.nc,
  config: svc.config,
  logger: svc.logger,
  metrics: svc.metrics,
  clockSource: rest.clock,
  positionsSource: rest.positions,
  accountSource: rest,
  instanceId: svc.instanceId,
  version: svc.version,
});
svc.onShutdown({ name: 'stop watchdog', run: () => watchdog?.stop() });
svc.started();
