import { NatsServerError } from '../errors.js';

/** Where a test's NATS server comes from. */
export type NatsSource = 'external' | 'container' | 'binary';

export interface NatsSourceInputs {
  /** VIGIL_TEST_NATS: `container` or `binary` forces that path (CI runs the integration tests on each). */
  forced: string | undefined;
  /** NATS_URL: a running server, used when the test needs none of its own. */
  natsUrl: string | undefined;
  /** The test stops, restarts or configures its server, so it cannot share NATS_URL's. */
  needsOwn: boolean;
  engineAnswers: boolean;
  binaryFound: boolean;
}

/**
 * A forced path wins; then NATS_URL for tests that can share a server; then a container whenever a Docker
 * engine answers (the same image compose runs), the nats-server binary otherwise. Null: nothing can serve.
 */
export function chooseNatsSource(i: NatsSourceInputs): NatsSource | null {
  if (i.forced === 'container' || i.forced === 'binary') return i.forced;
  if (i.forced) {
    throw new NatsServerError(
      `VIGIL_TEST_NATS=${i.forced} is not a NATS source: use container, binary, or leave it unset`,
    );
  }
  if (i.natsUrl && !i.needsOwn) return 'external';
  if (i.engineAnswers) return 'container';
  if (i.binaryFound) return 'binary';
  return null;
}
