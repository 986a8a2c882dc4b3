import { commands } from '@vigil/contracts';
import {
  addCommandService,
  commandEndpoint,
  type Logger,
  type Metrics,
  type NatsConnection,
  type Service,
} from '@vigil/service-kit';
import type { Flattener } from './flatten.js';
import { ResumeRefused, type HaltSwitch } from './halt.js';

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
  const haltReply = (ok: boolean, error?: string) => ({
    v: 1 as const,
    ok,
    at: at(),
    ...(error ? { error } : {}),
    halt: deps.halt.current(),
  });

  const halt = commandEndpoint(commands.executorHalt, {
    handle: async (req) => {
      log.warn({ requestedBy: req.requestedBy, reason: req.reason, incidentId: req.incidentId }, 'halt requested');
      try {
        await deps.halt.halt(req.reason, req.incidentId ?? null, req.by);
        return haltReply(true);
      } catch (err) {
        return haltReply(
          false,
          `halted in this process, but the state could not be saved (will not survive a restart): ${(err as Error).message}`,
        );
      }
    },
    invalid: (error) => haltReply(false, error),
  });

  const resume = commandEndpoint(commands.executorResume, {
    handle: async (req) => {
      log.warn({ requestedBy: req.requestedBy, reason: req.reason, incidentId: req.incidentId }, 'resume requested');
      try {
        await deps.halt.resume({ by: req.by, reason: req.reason, incidentId: req.incidentId ?? null });
        return haltReply(true);
      } catch (err) {
        if (err instanceof ResumeRefused) return haltReply(false, err.message);
        return haltReply(false, `still halted: the resume could not be saved: ${(err as Error).message}`);
      }
    },
    invalid: (error) => haltReply(false, error),
  });

  const flatten = commandEndpoint(commands.executorFlatten, {
    handle: async (req) => {
      log.warn({ requestedBy: req.requestedBy, reason: req.reason, incidentId: req.incidentId }, 'flatten requested');
      return deps.flattener.flatten(req);
    },
    invalid: (error) => ({
      v: 1,
      ok: false,
      at: at(),
      error,
      scope: deps.flattener.scope,
      closed: [],
      failed: [],
      canceledOrders: 0,
      alreadyFlat: false,
      halt: deps.halt.current(),
    }),
  });

  return addCommandService({
    nc: deps.nc,
    name: 'executor',
    version: deps.version,
    description: 'Vigil executor: halt, resume and flatten',
    endpoints: [halt, resume, flatten],
    logger: deps.logger,
    metrics: deps.metrics,
  });
}
