// `pnpm test:containers`: the container suite (scripts/containers: the image, compose, the NATS cluster) and
// every NATS integration test again, each on a NATS container (VIGIL_TEST_NATS=container). The default run
// (`pnpm test` under ./vigil test) covers the nats-server binary; together they run the tests on both paths.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { natsTestFiles, readOrNull, workspaceTestFiles } from './nats-test-files.js';

const root = resolve(import.meta.dirname, '..');

const all = await workspaceTestFiles(root);
const nats = (
  await natsTestFiles(
    all.map((f) => resolve(root, f)),
    readOrNull,
  )
).map((f) => f.slice(root.length + 1));
// `--project=!system` below keeps the whole-system tests (which start NATS too) on the binary, one at a time,
// as in the default run: vitest.config.ts's list is the only one.
console.error(
  `[test:containers] the container suite and the NATS integration tests (${nats.length} files start NATS; the whole-system ones stay on the binary)`,
);

const args = [
  'vitest',
  'run',
  '--project=!system',
  '--outputFile.json=.vigil/vitest-containers-report.json',
  'scripts/containers/',
  ...nats,
  ...process.argv.slice(2),
];
const child = spawn('npx', args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, VIGIL_TEST_NATS: 'container' },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
