// The operator's view of a compose stack from the host: NATS as user `ops` over TLS (the stack's CA), the
// services' health reports as they arrive, and the BARS and ALERTS streams read by sequence.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Alert, decodeOn, HealthReport, streams } from '@vigil/contracts';
import { natsInboxPrefix } from '@vigil/service-kit';
import { readBars, readStream } from '../e2e/system.js';

export const SERVICES = ['market-gateway', 'strategy', 'executor', 'watchdog'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface OpsWatch {
  nc: NatsConnection;
  /** The latest health report of each service, and when this process received it (wall ms). */
  health: Map<string, { report: HealthReport; receivedAt: number }>;
  bars(): ReturnType<typeof readBars>;
  alerts(): Promise<Alert[]>;
  close(): Promise<void>;
}

export async function watchAsOps(port: number, password: string, caFile: string): Promise<OpsWatch> {
  const nc = await connect({
    servers: `127.0.0.1:${port}`,
    name: 'container-test-ops',
    user: 'ops',
    pass: password,
    inboxPrefix: natsInboxPrefix('ops'),
    tls: { caFile },
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    // The cluster's other nodes advertise names (nats-2:4222) only the containers resolve.
    ignoreClusterUpdates: true,
  });
  const health: OpsWatch['health'] = new Map();
  const sub = nc.subscribe('health.>');
  void (async () => {
    for await (const m of sub) {
      const r = decodeOn(HealthReport, m.subject, m.data);
      if (r.ok) health.set(r.value.service, { report: r.value, receivedAt: Date.now() });
    }
  })();
  return {
    nc,
    health,
    bars: () => readBars(nc),
    alerts: () => readStream(nc, streams.alerts.name, Alert),
    async close() {
      sub.unsubscribe();
      await nc.close().catch(() => {});
    },
  };
}

/** Does the service answer 200 on /healthz at this host port? */
export async function healthz(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.ok,
    () => false,
  );
}
