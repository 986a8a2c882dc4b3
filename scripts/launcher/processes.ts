import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { backoffDelay } from '@vigil/service-kit';
import type { ServicePlan } from './plan.js';

export type ProcessState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

/**
 * One service as a child process, logging to its own file, restarted with backoff when it dies (as
 * compose's `restart: unless-stopped` would). Exit code 2 is a configuration error: restarting cannot
 * fix it, so it stays down and says so.
 */
export class ServiceProcess {
  state: ProcessState = 'starting';
  restarts = 0;
  lastExit: string | null = null;
  private child: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  private readonly log: WriteStream;

  constructor(
    readonly plan: ServicePlan,
    readonly logPath: string,
    private readonly onChange: (p: ServiceProcess) => void,
  ) {
    this.log = createWriteStream(logPath, { flags: 'a' });
  }

  start(): void {
    const child = spawn(process.execPath, ['--conditions=vigil-source', '--import', 'tsx', this.plan.entry], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...this.plan.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    child.once('spawn', () => this.set('running'));
    child.once('exit', (code, signal) => this.onExit(code, signal));
    this.child = child;
  }

  /** Sends `signal` to the running child without stopping supervision, as a crash would; it is restarted. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): boolean {
    return this.child?.kill(signal) ?? false;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves to how the last run ended (`code 0` is a clean stop). */
  async stop(graceMs = 12_000): Promise<string | null> {
    this.stopping = true;
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
    await new Promise((resolve) => this.log.end(resolve));
    return this.lastExit;
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.child = null;
    this.lastExit = signal ? `signal ${signal}` : `code ${code}`;
    if (this.stopping) return;
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
