import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';

/** What a test file imports from its own directory tree (`./harness.js`), as paths of their .ts sources. */
function localImports(file: string, text: string): string[] {
  return [...text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)].map((m) => resolve(dirname(file), `${m[1]}.ts`));
}

/**
 * The test files that run against a NATS server of their own: those that call `startNats`, directly or
 * through a module they import from beside them (a service's test harness). Pure over `read`.
 */
export async function natsTestFiles(
  files: string[],
  read: (path: string) => Promise<string | null>,
): Promise<string[]> {
  const callsStartNats = async (path: string) => (await read(path))?.includes('startNats(') ?? false;
  const picked: string[] = [];
  for (const file of files) {
    const text = (await read(file)) ?? '';
    if (text.includes('startNats(')) picked.push(file);
    else {
      for (const dep of localImports(file, text)) {
        if (await callsStartNats(dep)) {
          picked.push(file);
          break;
        }
      }
    }
  }
  return picked;
}

/** Every `*.test.ts` under the workspace's packages, services and scripts, relative to `root`. */
export async function workspaceTestFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.test.ts')) out.push(path);
    }
  };
  for (const top of ['packages', 'services', 'scripts']) await walk(join(root, top));
  return out.map((p) => relative(root, p)).sort();
}

export const readOrNull = (path: string) => readFile(path, 'utf8').catch(() => null);
