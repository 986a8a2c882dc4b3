import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PackageVersionError } from './errors.js';
import { packageVersion } from './package-version.js';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** A module URL in `<tmp>/dist/main.js` with `packageJson` (if any) beside `dist/`. */
async function moduleIn(packageJson?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-version-'));
  dirs.push(dir);
  await mkdir(join(dir, 'dist'));
  if (packageJson !== undefined) await writeFile(join(dir, 'package.json'), packageJson);
  return pathToFileURL(join(dir, 'dist', 'main.js')).href;
}

describe('packageVersion', () => {
  it("reads the version of this package's own package.json from a module in src/", () => {
    expect(packageVersion(import.meta.url)).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('reads it beside dist/, as the image lays a service out', async () => {
    expect(packageVersion(await moduleIn('{"name":"x","version":"1.2.3-rc.1"}'))).toBe('1.2.3-rc.1');
  });

  it('throws a PackageVersionError naming the file for a missing file, bad JSON or a version that is not semver', async () => {
    for (const json of [undefined, '{not json', '{"version":"latest"}', '{}']) {
      const url = await moduleIn(json);
      expect(() => packageVersion(url)).toThrow(PackageVersionError);
      expect(() => packageVersion(url)).toThrow(/package\.json.*rebuild/);
    }
  });
});
