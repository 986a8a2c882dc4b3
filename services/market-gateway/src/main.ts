import { startService } from '@vigil/service-kit';
import { GatewayConfig } from './config.js';
import { createGateway } from './gateway.js';

const svc = await startService({
  name: 'market-gateway',
  configSchema: GatewayConfig,
  secrets: (c) => [c.APCA_API_KEY_ID, c.APCA_API_SECRET_KEY],
});
const gateway = await createGateway(svc);
svc.onShutdown({ name: 'stop feed and flush bars', run: () => gateway.stop() });
svc.started();
