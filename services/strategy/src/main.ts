import { createAlpacaRest, MarketClock, startService } from '@vigil/service-kit';
import { strategyConfig } from './config.js';
import { createStrategy } from './strategy-service.js';

const svc = await startService({
  name: 'strategy',
  configSchema: strategyConfig,
  secrets: (c) => [c.APCA_API_KEY_ID, c.APCA_API_SECRET_KEY],
});
const clock = new MarketClock({
  source: createAlpacaRest(svc.config).clock,
  refreshMs: svc.config.CLOCK_REFRESH_MS,
  logger: svc.logger,
  metrics: svc.metrics,
});
await clock.start();
const strategy = await createStrategy({
  nc: svc.nc,
  config: svc.config,
  brokerNow: () => clock.brokerNow(),
  logger: svc.logger,
  metrics: svc.metrics,
  readiness: svc.readiness,
});
svc.onShutdown({ name: 'stop consuming bars', run: () => strategy.stop() });
svc.onShutdown({ name: 'stop broker clock', run: () => clock.stop() });
svc.started();
