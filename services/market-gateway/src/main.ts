import { packageVersion, startService } from '@vigil/service-kit';
import { GatewayConfig } from './config.js';
import { startReplica, type Replica } from './replica.js';

let replica: Replica | null = null;
const svc = await startService({
  name: 'market-gateway',
  version: packageVersion(import.meta.url),
  configSchema: GatewayConfig,
  secrets: (c) => [c.APCA_API_KEY_ID, c.APCA_API_SECRET_KEY],
  health: () => replica?.health() ?? null,
});
replica = await startReplica(svc);
svc.onShutdown({ name: 'stop feed, flush bars, release the lease', run: () => replica?.stop() });
svc.started();
