import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as z from 'zod';

/** Alpaca's error envelope: `{"code": 4xx…, "message": "…"}`. */
export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { code: status * 100_000 + (status === 401 ? 10_000 : 0), message }, headers);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(text ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The first zod issue as one line, for a 400/422 message. */
export function describeIssues(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request';
  const at = issue.path.length ? `${issue.path.join('.')}: ` : '';
  return `${at}${issue.message}`;
}

export function queryObject(url: URL): Record<string, string> {
  return Object.fromEntries(url.searchParams.entries());
}

/**
 * Read a request body up to `limit` bytes; rejects with `RequestTooLarge` beyond it, after draining the
 * rest so the 413 reaches the client instead of a connection reset.
 */
export async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  if (size > limit) throw new RequestTooLarge(`request body is ${size} bytes, over the ${limit}-byte limit`);
  return Buffer.concat(chunks).toString('utf8');
}

export class RequestTooLarge extends Error {
  override name = 'RequestTooLarge';
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * A sliding one-minute window per key and API: Alpaca allows 200 requests a minute and answers the
 * 201st with 429 and `Retry-After`.
 */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Record a request; returns seconds to wait when over the limit, else 0. */
  take(bucket: string): { retryAfterSec: number; remaining: number; resetSec: number } {
    const now = this.now();
    const list = (this.hits.get(bucket) ?? []).filter((t) => t > now - 60_000);
    const resetSec = Math.ceil(((list[0] ?? now) + 60_000) / 1000);
    if (list.length >= this.perMinute) {
      this.hits.set(bucket, list);
      return { retryAfterSec: Math.max(1, Math.ceil((list[0]! + 60_000 - now) / 1000)), remaining: 0, resetSec };
    }
    list.push(now);
    this.hits.set(bucket, list);
    return { retryAfterSec: 0, remaining: this.perMinute - list.length, resetSec };
  }
}
