/**
 * What a service needs before it can do its job, each part with a reason while it is not ready.
 * `/readyz` reports them all so an operator sees why, not just that.
 */
export class Readiness {
  private readonly parts = new Map<string, { ready: boolean; reason: string }>();

  set(part: string, ready: boolean, reason = ''): void {
    this.parts.set(part, { ready, reason: ready ? '' : reason || `${part} not ready` });
  }

  check(): { ready: boolean; reasons: string[] } {
    const reasons = [...this.parts.entries()].filter(([, p]) => !p.ready).map(([name, p]) => `${name}: ${p.reason}`);
    return { ready: reasons.length === 0, reasons };
  }
}
