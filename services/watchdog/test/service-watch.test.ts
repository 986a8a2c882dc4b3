import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '@nats-io/transport-node';
import {
  consumers,
  encode,
  ensureConsumers,
  ensureStreams,
  HealthReport,
  healthSubject,
  streams,
} from '@vigil/contracts';
import { waitFor } from '@vigil/service-kit/testing';
import { describe, expect, it } from 'vitest';
import { alertCollector, fakeBroker, fakeGateway, natsSuite, runWatchdog } from './harness.js';

const suite = natsSuite();
const later = suite.later;

/** Health reports every 100 ms for each service in `alive`, as the services' reporters send them. */
async function fakeServices(url: string) {
  const nc = await connect({ servers: url });
  const alive = new Set(['market-gateway', 'strategy', 'executor']);
  const timer = setInterval(() => {
    for (const service of alive)
      nc.publish(
        healthSubject(service),
        encode(HealthReport, {
          v: 1,
          service,
          instanceId: `${service}-test`,
          version: '0.0.0-test',
          at: new Date().toISOString(),
          status: 'ok',
          uptimeSec: 1,
          figures: {},
          notes: [],
        }),
      );
  }, 100);
  return Object.assign(alive, {
    async close() {
      clearInterval(timer);
      await nc.close();
    },
  });
}

describe('service_down and consumer_lag against a real nats-server', () => {
  it('service_down: pages once for a silent service, naming it, and resolves when it reports again', async () => {
    const collector = later(await alertCollector(suite.server.url));
    const services = later(await fakeServices(suite.server.url));
    const wd = later(await runWatchdog(suite.server.url, fakeBroker('open').source, { SERVICE_DOWN_AFTER_MS: '600' }));

    services.delete('strategy');
    const down = await waitFor('service_down open', () => collector.of('service_down', 'open')[0]);
    expect(down).toMatchObject({ severity: 'critical', details: { service: 'strategy' } });
    expect(down.message).toMatch(/^strategy has sent no health report for/);
    expect(await wd.metrics.registry.metrics()).toMatch(
      /vigil_watchdog_service_up\{watched="strategy",service="watchdog"\} 0/,
    );

    services.add('strategy');
    const back = await waitFor('service_down resolved', () => collector.of('service_down', 'resolved')[0]);
    expect(back).toMatchObject({ incidentId: down.incidentId, severity: 'info', details: { service: 'strategy' } });
    expect(back.durationMs).toBeGreaterThan(600);
    // One outage, one page: the others kept reporting throughout.
    expect(collector.of('service_down', 'open')).toHaveLength(1);
    expect(await wd.metrics.registry.metrics()).toMatch(
      /vigil_watchdog_service_up\{watched="strategy",service="watchdog"\} 1/,
    );
  });

  it('service_down: a restarted watchdog carries the outage on, pages it no second time, resolves it once', async () => {
    const collector = later(await alertCollector(suite.server.url));
    const services = later(await fakeServices(suite.server.url));
    services.delete('executor');
    const env = { SERVICE_DOWN_AFTER_MS: '600' };
    const first = await runWatchdog(suite.server.url, fakeBroker('open').source, env);
    const down = await waitFor('service_down open', () => collector.of('service_down', 'open')[0]);
    await first.watchdog.idle();
    await first.stop();

    const second = later(await runWatchdog(suite.server.url, fakeBroker('open').source, env));
    // Still silent well past SERVICE_DOWN_AFTER_MS of the new start: no second page.
    await sleep(1_500);
    await waitFor('the outage carried on', async () =>
      /vigil_watchdog_service_up\{watched="executor",service="watchdog"\} 0/.test(
        await second.metrics.registry.metrics(),
      ),
    );
    services.add('executor');
    const back = await waitFor('service_down resolved', () => collector.of('service_down', 'resolved')[0]);
    expect(back.incidentId).toBe(down.incidentId);
    expect(collector.of('service_down', 'open')).toHaveLength(1);
  });

  it('consumer_lag: bars pile up in BARS/strategy unread → warning, then critical; caught up → resolved', async () => {
    const nc = later(await connect({ servers: suite.server.url }));
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, [streams.bars]);
    await ensureConsumers(jsm, [consumers.strategyBars]);
    const collector = later(await alertCollector(suite.server.url));
    // The gateway's bars land in BARS (a stream stores core publishes too); nobody reads the strategy's consumer.
    later(await fakeGateway(suite.server.url));
    const wd = later(
      await runWatchdog(suite.server.url, fakeBroker('open').source, {
        CONSUMER_LAG_CHECK_MS: '100',
        CONSUMER_LAG_ALERT_MS: '600',
        CONSUMER_LAG_CRITICAL_MS: '1500',
      }),
    );

    const lag = await waitFor('consumer_lag open', () => collector.of('consumer_lag', 'open')[0]);
    expect(lag).toMatchObject({ severity: 'warning', details: { consumer: 'BARS/strategy' } });
    expect(lag.details.pending).toBeGreaterThan(0);
    const critical = await waitFor('consumer_lag critical', () =>
      collector.of('consumer_lag', 'open').find((a) => a.severity === 'critical'),
    );
    expect(critical.incidentId).toBe(lag.incidentId);
    // An open incident like any other: counted, and the watchdog's own health says so.
    expect(wd.watchdog.status().openAlerts).toBe(1);
    expect(wd.watchdog.health().status).toBe('degraded');

    // A strategy that reads and acknowledges again catches up.
    const consumer = await jetstream(nc).consumers.get(streams.bars.name, consumers.strategyBars.durable_name);
    const messages = await consumer.consume();
    later({ stop: async () => messages.stop() });
    void (async () => {
      for await (const m of messages) m.ack();
    })();
    const resolved = await waitFor('consumer_lag resolved', () => collector.of('consumer_lag', 'resolved')[0]);
    expect(resolved.incidentId).toBe(lag.incidentId);
    expect(wd.watchdog.status().openAlerts).toBe(0);

    // SIGNALS does not exist here: its reads fail, are counted, and are logged once, not every 100 ms.
    expect(await wd.metrics.registry.metrics()).toMatch(
      /vigil_watchdog_consumer_info_reads_total\{consumer="SIGNALS\/executor",outcome="error",service="watchdog"\} ([5-9]|\d\d+)/,
    );
    const blind = wd.log.lines().filter((l) => l.consumer === 'SIGNALS/executor' && /cannot read/.test(String(l.msg)));
    expect(blind).toHaveLength(1);
  });
});
