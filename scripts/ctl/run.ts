import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Svcm, type ServiceInfo } from '@nats-io/services';
import {
  type CommandReply,
  type CommandRequest,
  type CommandSpec,
  commands,
  ExecutorHaltState,
  kvBuckets,
  NOT_HALTED,
} from '@vigil/contracts';
import {
  isNoResponders,
  isPermissionViolation,
  KvJsonStore,
  requestCommand,
  type NatsConnection,
} from '@vigil/service-kit';
import { AlertsStreamMissing, readAlertLog } from './alert-log.js';
import type { CtlInvocation } from './args.js';
import { EXIT, exitCodeOf, type ExitCode } from './exit-codes.js';
import {
  alertLine,
  flattenReplyText,
  gatewayLines,
  haltLine,
  haltReplyText,
  incidentLine,
  SERVICES,
  serviceLines,
} from './format.js';
import { openIncidents } from './incidents.js';

/** What a command printed (text, or `json` with --json) and how the process exits. */
export interface CtlResult {
  code: ExitCode;
  text: string;
  json: unknown;
}

export interface CtlDeps {
  nc: NatsConnection;
  /** Who is asking, for the services' logs (`requestedBy`), e.g. `vigil ctl (alice@host)`. */
  requestedBy: string;
  now: () => number;
}

/** The executor's key for its halt in the `executor_state` bucket (services/executor/src/executor-state.ts). */
const HALT_KEY = 'halt';

/** Run one parsed command against NATS. Never throws for a NATS failure: it becomes an exit code and a message. */
export async function runCtl(inv: CtlInvocation, deps: CtlDeps): Promise<CtlResult> {
  const { command: c, timeoutMs } = inv;
  const person = { v: 1, requestedBy: deps.requestedBy, by: 'person' } as const;
  // A halt or flatten a person starts gets an incident id, so the reply can say what to resume.
  const manual = () => `manual-${new Date(deps.now()).toISOString()}`;
  switch (c.name) {
    case 'halt':
      return ask(
        deps,
        commands.executorHalt,
        { ...person, reason: c.reason, incidentId: c.incident ?? manual() },
        timeoutMs,
        (r) => haltReplyText('halt', r),
      );
    case 'resume':
      return ask(
        deps,
        commands.executorResume,
        { ...person, reason: c.reason, incidentId: c.incident },
        timeoutMs,
        (r) => haltReplyText('resume', r),
      );
    case 'flatten':
      return ask(
        deps,
        commands.executorFlatten,
        { ...person, reason: c.reason, incidentId: c.incident ?? manual() },
        timeoutMs,
        flattenReplyText,
      );
    case 'reconnect':
      return ask(deps, commands.gatewayReconnect, { ...person, reason: c.reason }, timeoutMs, (r) =>
        r.ok
          ? `reconnect: asked; the gateway is ${r.state}`
          : `reconnect REFUSED: ${r.error ?? '(no reason given)'} (gateway ${r.state})`,
      );
    case 'status':
      return status(deps, timeoutMs);
    case 'incidents':
      return fromAlertLog(deps, timeoutMs, c.scan, (log) => {
        const open = openIncidents(log.alerts);
        const looked = `${log.scanned} alert(s) read${log.complete ? ' (all stored)' : ` (the last ${log.scanned}; --scan to look further back)`}${log.invalid ? `, ${log.invalid} unreadable skipped` : ''}`;
        return {
          text: [
            open.length ? `${open.length} open incident(s):` : 'no open incident',
            ...open.map(incidentLine),
            looked,
          ].join('\n'),
          json: { incidents: open, scanned: log.scanned, complete: log.complete, invalid: log.invalid },
        };
      });
    case 'alerts':
      return fromAlertLog(deps, timeoutMs, c.limit, (log) => ({
        text: [
          ...(log.alerts.length ? log.alerts.map(alertLine) : ['no alert stored']),
          ...(log.invalid ? [`${log.invalid} unreadable message(s) skipped`] : []),
        ].join('\n'),
        json: { alerts: log.alerts, invalid: log.invalid },
      }));
  }
}

/** Send one command; `ok: false` exits 1, a failed request with its own code. */
async function ask<C extends CommandSpec>(
  deps: CtlDeps,
  spec: C,
  request: CommandRequest<C>,
  timeoutMs: number,
  text: (reply: CommandReply<C>) => string,
): Promise<CtlResult> {
  try {
    const reply = await requestCommand(deps.nc, spec, request, { timeoutMs });
    return { code: reply.ok ? EXIT.ok : EXIT.refused, text: text(reply), json: reply };
  } catch (err) {
    return failed(err);
  }
}

function failed(err: unknown): CtlResult {
  const e = err as Error;
  const code = exitCodeOf(err);
  const hint =
    code === EXIT.noResponders
      ? ': the service is down or restarting; nothing was done'
      : code === EXIT.timeout
        ? ': it may be stuck, or may have acted without answering; check ./vigil ctl status before repeating'
        : isPermissionViolation(e.cause)
          ? ': this NATS login may not send it; log in as the operator (NATS_USER=operator, VIGIL_OPERATOR_PASS)'
          : '';
  return { code, text: `${e.message}${hint}`, json: { error: { name: e.name, message: e.message } } };
}

async function status(deps: CtlDeps, timeoutMs: number): Promise<CtlResult> {
  const [gateway, services, halt] = await Promise.all([
    requestCommand(deps.nc, commands.gatewayStatus, { v: 1 }, { timeoutMs }).then(
      (reply) => ({ ok: true as const, reply }),
      (err: unknown) => ({ ok: false as const, err: err as Error }),
    ),
    serviceInfos(deps.nc, timeoutMs),
    haltState(deps.nc, timeoutMs),
  ]);
  const missing = SERVICES.filter((s) => !services.infos.some((i) => i.name === s));
  const text = [
    ...(gateway.ok ? gatewayLines(gateway.reply) : [`gateway       ${failed(gateway.err).text}`]),
    `executor      ${halt.ok ? haltLine(halt.state) : `halt state unknown: ${halt.error}`}`,
    'services ($SRV.INFO)',
    ...serviceLines(services.infos),
    ...(services.error ? [`  ${services.error}`] : []),
  ].join('\n');
  return {
    // A script asks "is the system reachable": the gateway's answer decides, the rest is shown.
    code: gateway.ok ? EXIT.ok : exitCodeOf(gateway.err),
    text,
    json: {
      gateway: gateway.ok ? gateway.reply : { error: { name: gateway.err.name, message: gateway.err.message } },
      halt: halt.ok ? halt.state : { error: halt.error },
      services: services.infos,
      missing,
    },
  };
}

/**
 * Every instance answering `$SRV.INFO` within the wait (collected until answers stop coming), none when
 * nobody answers; a request that fails otherwise says why.
 */
async function serviceInfos(
  nc: NatsConnection,
  timeoutMs: number,
): Promise<{ infos: ServiceInfo[]; error: string | null }> {
  const client = new Svcm(nc).client({ strategy: 'stall', maxWait: Math.min(timeoutMs, 2_000) });
  const infos: ServiceInfo[] = [];
  let error: string | null = null;
  try {
    for await (const i of await client.info()) infos.push(i);
  } catch (err) {
    if (!isNoResponders(err)) error = `$SRV.INFO failed: ${(err as Error).message}`;
  }
  return { infos: infos.sort((a, b) => a.name.localeCompare(b.name)), error };
}

/** The halt the executor stored: null there means it never halted. */
async function haltState(
  nc: NatsConnection,
  timeoutMs: number,
): Promise<{ ok: true; state: ExecutorHaltState } | { ok: false; error: string }> {
  try {
    const kv = await new Kvm(jetstream(nc, { timeout: timeoutMs })).open(kvBuckets.executorState.name);
    const stored = await new KvJsonStore(kv, ExecutorHaltState).get(HALT_KEY);
    // Nothing stored: the executor has never halted.
    return { ok: true, state: stored ?? NOT_HALTED };
  } catch (err) {
    return {
      ok: false,
      error: `cannot read KV ${kvBuckets.executorState.name} ${HALT_KEY}: ${(err as Error).message}`,
    };
  }
}

async function fromAlertLog(
  deps: CtlDeps,
  timeoutMs: number,
  max: number,
  show: (log: Awaited<ReturnType<typeof readAlertLog>>) => { text: string; json: unknown },
): Promise<CtlResult> {
  try {
    const log = await readAlertLog(await jetstreamManager(deps.nc, { timeout: timeoutMs }), max);
    return { code: EXIT.ok, ...show(log) };
  } catch (err) {
    const e = err as Error;
    const code = err instanceof AlertsStreamMissing ? EXIT.noResponders : exitCodeOf(err);
    return { code, text: e.message, json: { error: { name: e.name, message: e.message } } };
  }
}
