import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer, type HttpServer } from './http.js';
import { Metrics } from './metrics.js';
import { Readiness } from './readiness.js';
import { captureLogger } from './testing/log-capture.js';

let server: HttpServer | undefined;
afterEach(async () => server?.close());

async function start(readiness = new Readiness()) {
  const metrics = new Metrics('test-svc');
  metrics.counter('bars_published_total', 'bars').inc(3);
  server = await startHttpServer({ host: '127.0.0.1', port: 0, logger: captureLogger().logger, metrics, readiness });
  return { server, readiness };
}

describe('health server', () => {
  it('answers /healthz while alive', async () => {
    const { server } = await start();
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('reports not-ready with every reason, then ready', async () => {
    const { server, readiness } = await start();
    readiness.set('nats', false, 'disconnected from NATS');
    readiness.set('feed', false, 'waiting for subscription ack');
    let res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      ready: false,
      reasons: ['nats: disconnected from NATS', 'feed: waiting for subscription ack'],
    });
    readiness.set('nats', true);
    readiness.set('feed', true);
    res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, reasons: [] });
  });

  it('serves Prometheus metrics with the service label and defaults', async () => {
    const { server } = await start();
    const res = await fetch(`${server.url}/metrics`);
    const body = await res.text();
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    expect(body).toMatch(/vigil_bars_published_total\{service="test-svc"\} 3/);
    expect(body).toMatch(/^process_cpu_user_seconds_total\{service="test-svc"\} /m);
  });

  it('answers unknown paths with 404 and other methods with 405, as JSON', async () => {
    const { server } = await start();
    const notFound = await fetch(`${server.url}/nope`);
    expect(notFound.status).toBe(404);
    expect(((await notFound.json()) as { error: string }).error).toMatch(/no route/);
    const post = await fetch(`${server.url}/healthz`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
  });
});
