import type { ServiceInfo } from '@nats-io/services';
import type {
  Alert,
  CommandReply,
  commands,
  ExecutorFlattenReply,
  ExecutorHaltState,
  GatewayStatusReply,
} from '@vigil/contracts';
import { dataPathLine } from '../launcher/status-view.js';
import type { OpenIncident } from './incidents.js';

/** The four services `status` expects to answer `$SRV.INFO`. */
export const SERVICES = ['market-gateway', 'strategy', 'executor', 'watchdog'] as const;

/** The executor's halt in one line. */
export function haltLine(h: ExecutorHaltState): string {
  if (!h.halted) return 'not halted: orders allowed';
  const incident = h.incidentId ? `, incident ${h.incidentId}` : '';
  const flattened = h.flattened ? ', positions flattened' : '';
  return `HALTED since ${h.since ?? '?'} by ${h.by ?? 'unknown'}: ${h.reason ?? '(no reason stored)'}${incident}${flattened}`;
}

/** A halt or resume reply: what was done (or why not) and the halt it left. */
export function haltReplyText(verb: 'halt' | 'resume', reply: CommandReply<typeof commands.executorHalt>): string {
  const head = reply.ok ? `${verb}: done` : `${verb} REFUSED: ${reply.error ?? '(no reason given)'}`;
  const lines = [head, `executor      ${haltLine(reply.halt)}`];
  if (reply.halt.halted && reply.halt.incidentId)
    lines.push(`to resume     ./vigil ctl resume --incident ${reply.halt.incidentId}`);
  return lines.join('\n');
}

export function flattenReplyText(reply: ExecutorFlattenReply): string {
  const head = reply.ok
    ? `flatten: done${reply.alreadyFlat ? ' (this incident was already flattened: nothing sent again)' : ''}`
    : `flatten REFUSED or incomplete: ${reply.error ?? '(no reason given)'}`;
  const closed = reply.closed.map((c) => `${c.symbol} ${c.qty}`).join(', ') || 'none';
  const lines = [
    head,
    `scope         ${reply.scope}`,
    `closed        ${closed}`,
    `canceled      ${reply.canceledOrders} open order(s)`,
  ];
  if (reply.failed.length) lines.push(`FAILED        ${reply.failed.map((f) => `${f.symbol}: ${f.error}`).join('; ')}`);
  lines.push(`executor      ${haltLine(reply.halt)}`);
  return lines.join('\n');
}

/** The gateway's own account of its feed. */
export function gatewayLines(reply: GatewayStatusReply): string[] {
  const s = reply.status;
  return [
    `gateway       ${s.state}: ${s.reason}`,
    `data path     ${dataPathLine(s)}`,
    `market        ${s.marketOpen === null ? 'unknown' : s.marketOpen ? 'open' : 'closed'}`,
    `last bar      ${s.lastBarAt ?? 'none yet'} (${s.barsLastMinute} in the last minute, ${s.reconnects} reconnects)`,
  ];
}

/** Each expected service: its instances answering `$SRV.INFO`, or that none did. */
export function serviceLines(infos: readonly Pick<ServiceInfo, 'name' | 'id' | 'version'>[]): string[] {
  const names = [...new Set([...SERVICES, ...infos.map((i) => i.name)])];
  return names.map((name) => {
    const mine = infos.filter((i) => i.name === name);
    const state = mine.length
      ? mine.map((i) => `up (${i.version}, ${i.id})`).join(', ')
      : 'NO ANSWER to $SRV.INFO (down, restarting, or not registered as a NATS service)';
    return `  ${name.padEnd(15)} ${state}`;
  });
}

export function alertLine(a: Alert): string {
  return `${a.at} ${a.severity.padEnd(8)} ${a.kind} ${a.status}${a.incidentId ? ` [${a.incidentId}]` : ''}: ${a.message}`;
}

export function incidentLine(i: OpenIncident): string {
  return `${i.incidentId}  opened ${i.openedAt}, ${i.highestSeverity}, ${i.kinds.join(' → ')}\n    latest: ${alertLine(i.latest)}`;
}
