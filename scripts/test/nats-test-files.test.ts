import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { natsTestFiles, readOrNull, workspaceTestFiles } from '../nats-test-files.js';

describe('natsTestFiles', () => {
  it('picks files that start NATS themselves or through a harness beside them, and nothing else', async () => {
    const files: Record<string, string> = {
      '/w/a/src/direct.test.ts': 'const s = await startNats({ own: true });',
      '/w/a/test/via-harness.test.ts': "import { startEnv } from './harness.js';",
      '/w/a/test/harness.ts': 'export const startEnv = () => startNats();',
      '/w/a/src/unit.test.ts': "import { backoff } from './backoff.js';",
      '/w/a/src/backoff.ts': 'export const backoff = 1;',
      '/w/a/src/mentions.test.ts': "// startNats is not called here\nimport { x } from '../missing.js';",
    };
    const read = async (p: string) => files[p] ?? null;
    const picked = await natsTestFiles(
      Object.keys(files).filter((f) => f.endsWith('.test.ts')),
      read,
    );
    expect(picked).toEqual(['/w/a/src/direct.test.ts', '/w/a/test/via-harness.test.ts']);
  });

  it('finds the workspace NATS integration tests, the executor harness users among them', async () => {
    const root = resolve(import.meta.dirname, '../..');
    const all = await workspaceTestFiles(root);
    const picked = await natsTestFiles(
      all.map((f) => resolve(root, f)),
      readOrNull,
    );
    expect(picked).toContain(resolve(root, 'services/executor/test/orders.test.ts'));
    expect(picked).toContain(resolve(root, 'packages/service-kit/src/nats.test.ts'));
    expect(picked).not.toContain(resolve(root, 'services/market-gateway/src/backoff.test.ts'));
  });
});
