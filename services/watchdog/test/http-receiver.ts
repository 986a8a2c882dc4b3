// A real HTTP receiver on a random loopback port, standing in for PagerDuty, Slack or a webhook in tests.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How to answer request `n` (from 1): a status, a status with headers, or never. */
export type Answer = number | 'hang' | { status: number; headers?: Record<string, string> };

export async function httpReceiver(answer: (n: number) => Answer) {
  /** Bodies of the requests answered with 2xx, in order. */
  const bodies: unknown[] = [];
  /** When each request arrived (ms since the epoch). */
  const arrivals: number[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      arrivals.push(Date.now());
      const a = answer(arrivals.length);
      if (a === 'hang') return;
      const { status, headers } = typeof a === 'number' ? { status: a, headers: {} } : a;
      if (status < 300) bodies.push(JSON.parse(body));
      res.writeHead(status, headers).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // The path looks like a Slack webhook's: its secret part must never reach a log.
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T000/SECRET-PART-xyz`;
  return {
    url,
    bodies,
    arrivals,
    requests: () => arrivals.length,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
