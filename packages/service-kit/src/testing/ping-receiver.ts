import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An outside service on 127.0.0.1 that records every request (its path, when it came) and answers `status`:
 * a dead man's switch (healthchecks.io-style: `GET <url>` is alive, `<url>/fail` a failure) in tests.
 */
export async function pingReceiver() {
  const r = { paths: [] as string[], arrivals: [] as number[], status: 200 };
  const server = createServer((req, res) => {
    r.paths.push(req.url ?? '');
    r.arrivals.push(Date.now());
    req.resume();
    res.writeHead(r.status).end('OK');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return Object.assign(r, {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** When the last request came (ms since the epoch), or null before any. */
    lastAt: (): number | null => r.arrivals.at(-1) ?? null,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  });
}

export type PingReceiver = Awaited<ReturnType<typeof pingReceiver>>;
