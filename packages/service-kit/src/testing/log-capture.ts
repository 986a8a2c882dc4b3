import { Writable } from 'node:stream';
import { createLogger, type Logger, type LoggerOptions } from '../logger.js';

/** A real Vigil logger whose lines are kept in memory, for tests that assert what was (or was not) logged. */
export function captureLogger(opts: Partial<LoggerOptions> = {}): {
  logger: Logger;
  lines: () => Record<string, unknown>[];
  text: () => string;
} {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const logger = createLogger({ name: 'test', level: 'trace', ...opts, destination: sink });
  const text = () => chunks.join('');
  return {
    logger,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
