import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { backoffDelay, findBinary } from '@vigil/service-kit';
import type { ServicePlan } from './plan.js';

/**
 * The command prefix for a child that must not outlive the launcher, even one killed by SIGKILL with no chance
 * to stop it: Linux's parent-death signal (SIGTERM, so a service still drains), set by util-linux's setpriv,
 * which Debian always has. Empty without setpriv: there only the launcher's signal handlers stop the children.
 */
export function parentDeathWrapper(setpriv: string | null): string[] {
  return setpriv ? [setpriv, '--pdeathsig', 'SIGTERM'] : [];
}

/** The wrapper for every child of the launcher: the services, and the private nats-server. */
export const dieWithLauncher = parentDeathWrapper(findBinary('setpriv'));

export type ProcessState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

/**
 * One service as a child process, logging to its own file, restarted with backoff when it dies (as
 * compose's `restart: unless-stopped` would). Exit code 2 is a configuration error: restarting cannot
 * fix it, so it stays down and says so.
 *
 * The child runs in its own process group: a terminal's Ctrl-C reaches only the launcher, which stops the
 * services one by one with a single SIGTERM each. In the terminal's group each would also get the SIGINT,
 * and the launcher's SIGTERM would then be a second signal, which skips the NATS drain.
 */
export class ServiceProcess {
  state: ProcessState = 'starting';
  restarts = 0;
  lastExit: string | null = null;
  private child: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped: Promise<string | null> | null = null;
  private readonly logFd: number;

  constructor(
    readonly plan: ServicePlan,
    readonly logPath: string,
    private readonly onChange: (p: ServiceProcess) => void,
  ) {
    // The child writes its log file itself: through a pipe, a launcher that died first would leave it
    // hanging at exit (pino retries a broken pipe forever) and its shutdown unrecorded.
    this.logFd = openSync(logPath, 'a');
  }

  start(): void {
    const [command, ...args] = [
      ...dieWithLauncher,
      process.execPath,
      '--conditions=vigil-source',
      '--import',
      'tsx',
      this.plan.entry,
    ];
    const child = spawn(command!, args, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...this.plan.env },
      stdio: ['ignore', this.logFd, this.logFd],
      detached: true,
    });
    child.once('spawn', () => this.set('running'));
    child.once('exit', (code, signal) => this.onExit(code, signal));
    this.child = child;
  }

  /** Sends `signal` to the running child without stopping supervision, as a crash would; it is restarted. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): boolean {
    return this.child?.kill(signal) ?? false;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves to how the last run ended (`code 0` is a clean stop). */
  stop(graceMs = 12_000): Promise<string | null> {
    this.stopped ??= this.terminate(graceMs);
    return this.stopped;
  }

  private async terminate(graceMs: number): Promise<string | null> {
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
    }
    this.set('stopped');
    closeSync(this.logFd);
    return this.lastExit;
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.child = null;
    this.lastExit = signal ? `signal ${signal}` : `code ${code}`;
    if (this.stopped) return;
    if (code === 2) {
      this.set('failed');
      return;
    }
    const delay = backoffDelay({ initialMs: 1000, maxMs: 30_000 }, this.restarts, () => 1);
    this.restarts += 1;
    this.set('restarting');
    this.timer = setTimeout(() => this.start(), delay);
  }

  private set(state: ProcessState): void {
    this.state = state;
    this.onChange(this);
  }
}
