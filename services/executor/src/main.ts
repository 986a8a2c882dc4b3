import { createAlpacaRest, MarketClock, startService } from '@vigil/service-kit';
import { executorConfig } from './config.js';
import { createExecutor } from './executor.js';

const svc = await startService({
  name: 'executor',
  configSchema: executorConfig,
  secrets: (c) => [c.APCA_API_KEY_ID, c.APCA_API_SECRET_KEY],
});
const rest = createAlpacaRest(svc.config);
const clock = new MarketClock({ source: rest.clock, refreshMs: svc.config.CLOCK_REFRESH_MS, logger: svc.logger, metrics: svc.metrics });
await clock.start();
const executor = await createExecutor({
  nc: svc.nc,
  rest,
  brokerNow: () => clock.brokerNow(),
  config: svc.config,
  logger: svc.logger,
  metrics: svc.metrics,
  readiness: svc.readiness,
});
svc.onShutdown({ name: 'stop executor', run: () => executor.stop() });
svc.onShutdown({ name: 'stop broker clock', run: () => clock.stop() });
svc.started();
