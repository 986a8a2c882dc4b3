import { createAlpacaRest, packageVersion, startMarketClock, startService } from '@vigil/service-kit';
import { executorConfig } from './config.js';
import { createExecutor, type ExecutorService } from './executor.js';

let executor: ExecutorService | null = null;
const svc = await startService({
  name: 'executor',
  version: packageVersion(import.meta.url),
  configSchema: executorConfig,
  secrets: (c) => [c.APCA_API_KEY_ID, c.APCA_API_SECRET_KEY],
  health: () => executor?.health() ?? null,
});
const rest = createAlpacaRest(svc.config);
const clock = await startMarketClock({
  source: rest.clock,
  config: svc.config,
  logger: svc.logger,
  metrics: svc.metrics,
});
executor = await createExecutor({
  nc: svc.nc,
  rest,
  brokerNow: () => clock.brokerNow(),
  market: () => ({ phase: clock.phase(), nextCloseMs: clock.nextCloseMs() }),
  config: svc.config,
  logger: svc.logger,
  metrics: svc.metrics,
  readiness: svc.readiness,
  version: svc.version,
});
svc.onShutdown({ name: 'stop executor', run: () => executor?.stop() });
svc.onShutdown({ name: 'stop broker clock', run: () => clock.stop() });
svc.started();
