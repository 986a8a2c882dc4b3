import type { Logger } from './logger.js';

export interface ShutdownTask {
  name: string;
  run: () => Promise<void> | void;
}

export interface ShutdownOptions {
  logger: Logger;
  timeoutMs: number;
  /** Run in order: stop taking work first, then drain NATS, then close HTTP. */
  tasks: () => ShutdownTask[];
  signals?: NodeJS.Signals[];
  exit?: (code: number) => void;
}

/**
 * On SIGTERM or SIGINT run the shutdown tasks in order and exit 0; if they overrun the deadline, exit 1
 * so an orchestrator never waits on a wedged process. A SIGINT during shutdown (a second Ctrl-C: a person
 * insisting) exits at once. A repeated SIGTERM does not cut the drain short: supervisors that lose patience
 * send SIGKILL, and Linux's parent-death signal (how `./vigil start`'s services learn the launcher died)
 * comes again each time a thread of the dying launcher exits.
 */
export function installShutdown(opts: ShutdownOptions): { shutdown: (reason: string) => Promise<void> } {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let running: Promise<void> | null = null;

  const shutdown = (reason: string): Promise<void> => {
    if (running) return running;
    opts.logger.info({ reason, timeoutMs: opts.timeoutMs }, 'shutting down');
    const deadline = setTimeout(() => {
      opts.logger.error({ timeoutMs: opts.timeoutMs }, 'shutdown deadline passed; exiting now');
      exit(1);
    }, opts.timeoutMs);
    deadline.unref();
    running = (async () => {
      let code = 0;
      for (const task of opts.tasks()) {
        try {
          await task.run();
          opts.logger.debug({ task: task.name }, 'shutdown step done');
        } catch (err) {
          code = 1;
          opts.logger.error({ err, task: task.name }, 'shutdown step failed; continuing');
        }
      }
      clearTimeout(deadline);
      opts.logger.info({ code }, 'stopped');
      opts.logger.flush();
      exit(code);
    })();
    return running;
  };

  for (const signal of opts.signals ?? ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      if (!running) {
        void shutdown(signal);
      } else if (signal === 'SIGINT') {
        opts.logger.warn({ signal }, 'second signal; exiting immediately');
        exit(130);
      } else {
        opts.logger.info({ signal }, 'already shutting down; the deadline still applies');
      }
    });
  }
  return { shutdown };
}
