import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import { currentOrNextSession, nextOpenSession } from './calendar.js';
import { chaosSchedule, generateChaos } from './chaos.js';
import { parseFault } from './faults.js';
import { describeIssues, queryObject, readBody, sendError, sendJson } from './http-util.js';
import type { Sim } from './sim.js';

const clockChange = z.strictObject({
  at: z.iso.datetime({ offset: true }).optional(),
  /** `close`: the current (or next) session's close, the market-closed moment; `next_open`: the next open. */
  to: z.enum(['close', 'next_open']).optional(),
  advanceMinutes: z.number().optional(),
  msPerMinute: z.number().min(1).optional(),
  paused: z.boolean().optional(),
});
const chaosBody = z.union([
  z.strictObject({ schedule: chaosSchedule }),
  z.strictObject({
    generate: z.strictObject({ seed: z.int(), minutes: z.int().min(1), count: z.int().min(1).max(1000) }),
  }),
]);

/**
 * Why a request that reached us over loopback still must not drive the simulator, or null. A web page the
 * operator has open can send a POST to 127.0.0.1 (a "simple" request needs no preflight) or reach us through a
 * name it rebinds to 127.0.0.1: refuse any Host that is not a loopback name, any Origin that is not our own,
 * and any request a browser marks as cross-site. curl, the CLI and Node's fetch send none of these.
 */
export function browserRefusal(headers: IncomingHttpHeaders): string | null {
  const host = headers.host ?? '';
  if (!/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host)) return `Host "${host}" is not a loopback name`;
  if (headers.origin !== undefined && headers.origin !== `http://${host}`)
    return `cross-origin request from ${headers.origin}`;
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return `cross-site browser request (Sec-Fetch-Site: ${site})`;
  return null;
}

/**
 * `/sim/...`: JSON control of the simulator. GET /sim/status, GET|POST|DELETE /sim/faults,
 * GET|POST /sim/clock, POST /sim/chaos. Loopback callers only.
 */
export async function handleControl(sim: Sim, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const remote = req.socket.remoteAddress ?? '';
  if (!/^(127\.|::1$|::ffff:127\.)/.test(remote))
    return sendError(res, 403, 'the control API answers loopback callers only');
  const refusal = browserRefusal(req.headers);
  if (refusal) {
    sim.log.warn({ refusal, method: req.method, path: url.pathname }, 'control API request refused');
    return sendError(res, 403, `the control API refuses browser requests from other sites: ${refusal}`);
  }
  const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
  const body = req.method === 'POST' ? await jsonBody(req) : undefined;
  if (body instanceof Error) return sendError(res, 400, body.message);
  switch (route) {
    case 'GET /sim':
    case 'GET /sim/status':
      return sendJson(res, 200, sim.status());
    case 'GET /sim/faults':
      return sendJson(res, 200, {
        active: sim.faults.list(),
        injected: sim.faults.injected,
        applied: sim.faults.applied,
      });
    case 'POST /sim/faults': {
      const p = parseFault(body);
      if (!p.success) return sendError(res, 422, `invalid fault: ${describeIssues(p.error)}`);
      return sendJson(res, 201, sim.faults.inject(p.data));
    }
    case 'DELETE /sim/faults': {
      const q = queryObject(url);
      const cleared = sim.faults.clear({ ...(q.id ? { id: Number(q.id) } : {}), ...(q.kind ? { kind: q.kind } : {}) });
      sim.log.info({ cleared: cleared.map((f) => f.kind) }, 'faults cleared');
      return sendJson(res, 200, { cleared });
    }
    case 'GET /sim/clock':
      return sendJson(res, 200, sim.clockStatus());
    case 'POST /sim/clock': {
      const p = clockChange.safeParse(body);
      if (!p.success) return sendError(res, 422, describeIssues(p.error));
      const c = p.data;
      if (c.msPerMinute !== undefined) sim.clock.setSpeed(c.msPerMinute);
      if (c.paused !== undefined) sim.clock.setPaused(c.paused);
      if (c.at !== undefined) sim.clock.set(Date.parse(c.at));
      if (c.to === 'close') sim.clock.set(currentOrNextSession(sim.clock.now()).closeMs);
      if (c.to === 'next_open') sim.clock.set(nextOpenSession(sim.clock.now()).openMs);
      if (c.advanceMinutes !== undefined) sim.clock.advance(c.advanceMinutes * 60_000);
      sim.log.info({ change: c, now: new Date(sim.clock.now()).toISOString() }, 'clock changed');
      return sendJson(res, 200, sim.clockStatus());
    }
    case 'POST /sim/chaos': {
      const p = chaosBody.safeParse(body);
      if (!p.success) return sendError(res, 422, describeIssues(p.error));
      const schedule =
        'schedule' in p.data
          ? p.data.schedule
          : generateChaos(p.data.generate.seed, p.data.generate.minutes, p.data.generate.count);
      sim.runChaos(schedule);
      return sendJson(res, 200, { schedule });
    }
    default:
      return sendError(res, 404, `no control endpoint ${route}`);
  }
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  try {
    return text ? JSON.parse(text) : {};
  } catch (err) {
    return new Error(`request body is not JSON: ${(err as Error).message}`);
  }
}
