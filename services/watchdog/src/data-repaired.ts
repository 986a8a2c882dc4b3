/** The gateway audit's running totals, as its heartbeat reports them (counted since that gateway started). */
export interface AuditTotals {
  missing: number;
  revised: number;
}

/**
 * The repairs a heartbeat shows that the last one did not: the audit stored bars some other layer missed. Null
 * when there are none new. A new gateway process (another instance id) starts its totals again, so its first
 * counts are all new; with no earlier heartbeat (the watchdog just started) the counts are a baseline, not news:
 * they were reported to the watchdog that saw them. Pure.
 */
export function newRepairs(
  prev: { instanceId: string; audit: AuditTotals } | null,
  instanceId: string,
  audit: AuditTotals,
): AuditTotals | null {
  if (!prev) return null;
  const base = prev.instanceId === instanceId ? prev.audit : { missing: 0, revised: 0 };
  const missing = Math.max(0, audit.missing - base.missing);
  const revised = Math.max(0, audit.revised - base.revised);
  return missing + revised > 0 ? { missing, revised } : null;
}
