import { describe, expect, it } from 'vitest';
import { decode, decodeAs, encode } from './codec.js';
import { commands } from './commands.js';

const request = {
  v: 1,
  requestedBy: 'watchdog-1a2b3c4d',
  by: 'watchdog',
  reason: 'no bar for 2.0 min',
  incidentId: 'stale-1',
} as const;

describe('commands', () => {
  it('are asked on the subjects operators and NATS permissions (infra/nats/auth.conf) know', () => {
    expect(Object.fromEntries(Object.entries(commands).map(([name, c]) => [name, c.subject]))).toEqual({
      gatewayReconnect: 'cmd.gateway.reconnect',
      gatewayStatus: 'cmd.gateway.status',
      executorFlatten: 'cmd.executor.flatten',
      executorHalt: 'cmd.executor.halt',
      executorResume: 'cmd.executor.resume',
    });
  });

  it('carry, on their subject, the request their spec declares, and decode() knows it by the subject', () => {
    for (const [name, c] of Object.entries(commands)) {
      const value = name === 'gatewayStatus' ? { v: 1 } : request;
      const wire = encode(c.request, value as never);
      expect(decodeAs(c.request, c.subject, wire), name).toEqual({ ok: true, value });
      expect(decode(c.subject, wire), name).toEqual({ ok: true, value });
    }
  });

  it('name the request type in a decode error, so a refused command says what it expected', () => {
    const bad = decode(commands.executorHalt.subject, new TextEncoder().encode('{"v":1}'));
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(bad.error.message).toMatch(/invalid ExecutorHaltRequest on "cmd\.executor\.halt": .*requestedBy/);
  });
});
