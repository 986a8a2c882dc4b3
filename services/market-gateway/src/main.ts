import { packageVersion, startService } from '@vigil/service-kit';
import { GatewayConfig } from './config.js';
import { createGateway, type Gateway } from './gateway.js';
import { gatewayHealth } from './health.js';

let gateway: Gateway | null = null;
const svc = await startService({
  name: 'market-gateway',
  version: packageVersion(import.meta.url),
  configSchema: GatewayConfig,
  secrets: (c) => [c.APCA_API_KEY_ID, c.APCA_API_SECRET_KEY],
  health: () => gateway && gatewayHealth(gateway.heartbeat()),
});
gateway = await createGateway(svc);
svc.onShutdown({ name: 'stop feed and flush bars', run: () => gateway?.stop() });
svc.started();
