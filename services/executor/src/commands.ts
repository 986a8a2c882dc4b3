import {
  decodeAs,
  encode,
  ExecutorFlattenReply,
  ExecutorFlattenRequest,
  ExecutorHaltReply,
  ExecutorHaltRequest,
  ExecutorResumeRequest,
  subjects,
} from '@vigil/contracts';
import { addCommandService, type CommandEndpoint, type Logger, type Metrics, type NatsConnection, type Service } from '@vigil/service-kit';
import type { Flattener } from './flatten.js';
import type { HaltSwitch } from './halt.js';

export interface CommandDeps {
  nc: NatsConnection;
  halt: HaltSwitch;
  flattener: Flattener;
  logger: Logger;
  metrics: Metrics;
  version: string;
  now?: () => number;
}

/**
 * `cmd.executor.halt|resume|flatten` as the NATS service `executor` (so `nats micro ls` and `$SRV.PING`
 * see it). Every request is validated and every reply matches its contract schema; a bad request gets
 * `ok: false` with the reason, never silence.
 */
export async function registerCommands(deps: CommandDeps): Promise<Service> {
  const log = deps.logger.child({ component: 'commands' });
  const now = deps.now ?? Date.now;
  const at = () => new Date(now()).toISOString();
  const endpoints: CommandEndpoint[] = [];
  const endpoint = (name: string, handle: CommandEndpoint['handle']) => endpoints.push({ name, handle });

  const haltReply = (ok: boolean, error?: string) =>
    encode(ExecutorHaltReply, { v: 1, ok, at: at(), ...(error ? { error } : {}), halt: deps.halt.current() });

  endpoint('halt', async (msg) => {
    const req = decodeAs(ExecutorHaltRequest, msg.subject, msg.data);
    if (!req.ok) return { ok: false, bytes: haltReply(false, req.error.message) };
    log.warn({ requestedBy: req.value.requestedBy, reason: req.value.reason, incidentId: req.value.incidentId }, 'halt requested');
    try {
      await deps.halt.halt(req.value.reason, req.value.incidentId ?? null);
      return { ok: true, bytes: haltReply(true) };
    } catch (err) {
      return { ok: false, bytes: haltReply(false, `halted in this process, but the state could not be saved (will not survive a restart): ${(err as Error).message}`) };
    }
  });

  endpoint('resume', async (msg) => {
    const req = decodeAs(ExecutorResumeRequest, msg.subject, msg.data);
    if (!req.ok) return { ok: false, bytes: haltReply(false, req.error.message) };
    log.warn({ requestedBy: req.value.requestedBy, reason: req.value.reason, incidentId: req.value.incidentId }, 'resume requested');
    try {
      await deps.halt.resume(req.value.reason);
      return { ok: true, bytes: haltReply(true) };
    } catch (err) {
      return { ok: false, bytes: haltReply(false, `still halted: the resume could not be saved: ${(err as Error).message}`) };
    }
  });

  endpoint('flatten', async (msg) => {
    const req = decodeAs(ExecutorFlattenRequest, msg.subject, msg.data);
    if (!req.ok) {
      const reply = { v: 1 as const, ok: false, at: at(), error: req.error.message, closed: [], failed: [], canceledOrders: 0, alreadyFlat: false, halt: deps.halt.current() };
      return { ok: false, bytes: encode(ExecutorFlattenReply, reply) };
    }
    log.warn({ requestedBy: req.value.requestedBy, reason: req.value.reason, incidentId: req.value.incidentId }, 'flatten requested');
    const reply = await deps.flattener.flatten(req.value);
    return { ok: reply.ok, bytes: encode(ExecutorFlattenReply, reply) };
  });

  return addCommandService({
    nc: deps.nc,
    name: 'executor',
    version: deps.version,
    description: 'Vigil executor: halt, resume and flatten',
    group: subjects.executorHalt.slice(0, subjects.executorHalt.lastIndexOf('.')),
    endpoints,
    logger: deps.logger,
    metrics: deps.metrics,
  });
}
