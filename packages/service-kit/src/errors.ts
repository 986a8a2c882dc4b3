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

/** A NATS server could not be started or provided (test harness, private server for `./vigil start`). */
export class NatsServerError extends Error {
  override name = 'NatsServerError';
}

/** A service's package.json cannot be read for its version (a broken build or image). */
export class PackageVersionError extends Error {
  override name = 'PackageVersionError';
}
