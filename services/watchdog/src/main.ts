import { createAlpacaRest, startService } from '@vigil/service-kit';
import { watchdogConfig } from './config.js';
import { statusRoutes } from './page.js';
import { createWatchdog, type Watchdog } from './watchdog.js';

let watchdog: Watchdog | null = null;
const svc = await startService({
  name: 'watchdog',
  configSchema: watchdogConfig,
  secrets: (c) => [c.ALERT_WEBHOOK_URL, c.APCA_API_KEY_ID, c.APCA_API_SECRET_KEY],
  routes: statusRoutes(() => watchdog?.status() ?? null),
});
watchdog = await createWatchdog({
  nc: svc.nc,
  config: svc.config,
  logger: svc.logger,
  metrics: svc.metrics,
  clockSource: createAlpacaRest(svc.config).clock,
  instanceId: svc.instanceId,
});
svc.onShutdown({ name: 'stop watchdog', run: () => watchdog?.stop() });
svc.started();
