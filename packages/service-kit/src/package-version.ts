import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { PackageVersionError } from './errors.js';

// Semver, as `nats micro` requires of a service's version.
const PackageJson = z.object({ version: z.string().regex(/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/) });

/**
 * The version in the package.json one level above the calling module: `packageVersion(import.meta.url)` in a
 * service's `src/main.ts` (or the built `dist/main.js`, which the image keeps beside its package.json). What
 * its health reports and `nats micro ls` show, so a half-rolled deploy is visible.
 */
export function packageVersion(moduleUrl: string): string {
  const path = fileURLToPath(new URL('../package.json', moduleUrl));
  try {
    return PackageJson.parse(JSON.parse(readFileSync(path, 'utf8'))).version;
  } catch (err) {
    throw new PackageVersionError(
      `cannot read a semver "version" from ${path}: the build or image is incomplete; rebuild it`,
      { cause: err },
    );
  }
}
