import { createAlpacaRest, packageVersion, startMarketClock, startService } from '@vigil/service-kit';
import { strategyConfig } from './config.js';
import { createStrategy, type StrategyService } from './strategy-service.js';

let strategy: StrategyService | null = null;
const svc = await startService({
  name: 'strategy',
  version: packageVersion(import.meta.url),
  configSchema: strategyConfig,
  secrets: (c) => [c.APCA_API_KEY_ID, c.APCA_API_SECRET_KEY],
  health: () => strategy?.health() ?? null,
});
const clock = await startMarketClock({
  source: createAlpacaRest(svc.config).clock,
  config: svc.config,
  logger: svc.logger,
  metrics: svc.metrics,
});
strategy = await createStrategy({
  nc: svc.nc,
  config: svc.config,
  instanceId: svc.instanceId,
  version: svc.version,
  brokerNow: () => clock.brokerNow(),
  logger: svc.logger,
  metrics: svc.metrics,
  readiness: svc.readiness,
});
svc.onShutdown({ name: 'stop consuming bars', run: () => strategy?.stop() });
svc.onShutdown({ name: 'stop broker clock', run: () => clock.stop() });
svc.started();
