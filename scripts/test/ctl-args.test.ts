import { describe, expect, it } from 'vitest';
import { parseCtlArgs } from '../ctl/args.js';

const ok = (argv: string[]) => {
  const r = parseCtlArgs(argv);
  if (!r.ok) throw new Error(`expected ${argv.join(' ')} to parse: ${r.error}`);
  return r.invocation;
};
const error = (argv: string[]) => {
  const r = parseCtlArgs(argv);
  if (r.ok) throw new Error(`expected ${argv.join(' ')} to be refused`);
  return r.error;
};

describe('./vigil ctl arguments', () => {
  it('parses each command with its options and defaults', () => {
    expect(ok(['status'])).toEqual({ command: { name: 'status' }, json: false, timeoutMs: 10_000 });
    expect(ok(['halt', '--reason', 'bad fills'])).toEqual({
      command: { name: 'halt', reason: 'bad fills', incident: null },
      json: false,
      timeoutMs: 10_000,
    });
    expect(ok(['halt', '--reason=r', '--incident', 'inc-1', '--json', '--timeout', '2500'])).toEqual({
      command: { name: 'halt', reason: 'r', incident: 'inc-1' },
      json: true,
      timeoutMs: 2_500,
    });
    expect(ok(['resume', '--incident', 'inc-1']).command).toEqual({
      name: 'resume',
      incident: 'inc-1',
      reason: 'resumed by hand for incident inc-1',
    });
    expect(ok(['resume', '--incident', 'inc-1', '--reason', 'checked']).command).toMatchObject({ reason: 'checked' });
    // A flatten talks to the broker, with retries: it gets longer to answer.
    expect(ok(['flatten', '--reason', 'r'])).toMatchObject({
      command: { name: 'flatten', reason: 'r', incident: null },
      timeoutMs: 60_000,
    });
    expect(ok(['reconnect']).command).toEqual({ name: 'reconnect', reason: 'reconnect asked by hand' });
    expect(ok(['incidents']).command).toEqual({ name: 'incidents', scan: 10_000 });
    expect(ok(['alerts']).command).toEqual({ name: 'alerts', limit: 20 });
    expect(ok(['alerts', '--limit', '5', '--json'])).toMatchObject({ command: { limit: 5 }, json: true });
  });

  it('refuses a halt or flatten without a reason and a resume without an incident, sending nothing', () => {
    expect(error(['halt'])).toMatch(/halt requires --reason/);
    expect(error(['flatten', '--incident', 'x'])).toMatch(/flatten requires --reason/);
    expect(error(['halt', '--reason', '  '])).toMatch(/--reason is empty/);
    expect(error(['resume'])).toMatch(/resume requires --incident/);
    expect(error(['resume', '--reason', 'r'])).toMatch(/resume requires --incident/);
  });

  it('refuses what it does not know rather than guess: commands, options, arguments, numbers', () => {
    expect(error([])).toMatch(/no command/);
    expect(error(['hlat', '--reason', 'r'])).toMatch(/unknown command "hlat"/);
    expect(error(['halt', '--reason', 'r', '--force'])).toMatch(/--force/);
    expect(error(['halt', 'now', '--reason', 'r'])).toMatch(/unexpected argument "now"/);
    expect(error(['status', '--reason', 'r'])).toMatch(/status takes no --reason/);
    expect(error(['alerts', '--scan', '3'])).toMatch(/alerts takes no --scan/);
    expect(error(['alerts', '--limit', '0'])).toMatch(/--limit must be a positive whole number/);
    expect(error(['alerts', '--limit', '2.5'])).toMatch(/--limit/);
    expect(error(['status', '--timeout', '-1'])).toMatch(/--timeout/);
    expect(error(['halt', '--reason'])).toMatch(/--reason/);
  });

  it('asks for help with --help, -h or help', () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['halt', '--help']])
      expect(parseCtlArgs(argv)).toEqual({ ok: false, help: true, error: '' });
  });
});
