import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface HttpServerOptions {
  host: string;
  port: number;
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  /** Extra GET routes by path, e.g. the watchdog's status page. */
  routes?: Record<string, RouteHandler>;
}

export interface HttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * `/healthz` says the process is alive (the event loop answers), `/readyz` whether it can do its job and
 * why not, `/metrics` the Prometheus figures. Anything else is a JSON 404; non-GET a 405.
 */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const log = opts.logger.child({ component: 'http' });
  const requests = opts.metrics.counter('http_requests_total', 'HTTP requests by route and status', [
    'route',
    'status',
  ]);
  const routes: Record<string, RouteHandler> = {
    '/healthz': (_req, res) => json(res, 200, { status: 'ok' }),
    '/readyz': (_req, res) => {
      const r = opts.readiness.check();
      json(res, r.ready ? 200 : 503, r);
    },
    '/metrics': async (_req, res) => {
      res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
      res.end(await opts.metrics.registry.metrics());
    },
    ...opts.routes,
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const handler = routes[url.pathname];
    const route = handler ? url.pathname : 'unknown';
    res.on('finish', () => requests.inc({ route, status: String(res.statusCode) }));
    if (!handler) return json(res, 404, { error: `no route ${url.pathname}; try /healthz, /readyz or /metrics` });
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return json(res, 405, { error: `${req.method} not allowed; use GET` });
    Promise.resolve(handler(req, res, url)).catch((err: unknown) => {
      log.error({ err, route }, 'HTTP handler failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error; see the service log' });
      else res.destroy();
    });
  });
  server.on('clientError', (err, socket) => {
    log.warn({ err: err.message }, 'malformed HTTP request');
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  log.info({ url }, 'HTTP server listening');
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
