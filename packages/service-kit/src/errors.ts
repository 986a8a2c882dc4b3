/** Environment configuration that does not match the service's schema. `problems` holds one line per variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly problems: string[],
    options?: ErrorOptions,
  ) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`, options);
  }
}

/** The NATS server could not be reached or refused us. */
export class NatsConnectError extends Error {
  override name = 'NatsConnectError';
}

/** The test harness could not provide a NATS server. */
export class NatsHarnessError extends Error {
  override name = 'NatsHarnessError';
}
