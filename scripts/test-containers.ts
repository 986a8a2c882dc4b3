// `pnpm test:containers`: the container suite (scripts/containers: the image, compose, the NATS cluster) and
// every NATS integration test again, each on a NATS container (VIGIL_TEST_NATS=container). The default run
// (`pnpm test` under ./vigil test) covers the nats-server binary; together they run the tests on both paths.
//
// Two vitest runs, one after the other, each with its own report: the compose suite alone first, then the
// NATS files. Run side by side on two cores, the 44 files' containers starved the three-node cluster's first
// JetStream election past a minute, three times in a row (CI of stop 17); alone it forms in about 8 s.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { natsTestFiles, readOrNull, workspaceTestFiles } from './nats-test-files.js';

const root = resolve(import.meta.dirname, '..');
const extra = process.argv.slice(2);

const all = await workspaceTestFiles(root);
const nats = (
  await natsTestFiles(
    all.map((f) => resolve(root, f)),
    readOrNull,
  )
).map((f) => f.slice(root.length + 1));

function vitest(what: string, report: string, files: string[]): Promise<number> {
  console.error(`[test:containers] ${what}`);
  const args = ['vitest', 'run', `--outputFile.json=.vigil/${report}`, ...files, ...extra];
  // A filter given on the command line may match files of one run only: the other then has nothing to run.
  if (extra.length) args.push('--passWithNoTests');
  const child = spawn('npx', args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, VIGIL_TEST_NATS: 'container' },
  });
  return new Promise((done) => child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0))));
}

const compose = await vitest(
  'the container suite: the image, the compose stack, the NATS cluster',
  'vitest-compose-report.json',
  ['--project=containers', 'scripts/containers/'],
);
// `--project=!system` keeps the whole-system tests (which start NATS too) on the binary, one at a time, as in
// the default run: vitest.config.ts's list is the only one.
const integration = await vitest(
  `the NATS integration tests on containers (${nats.length} files start NATS; the whole-system ones stay on the binary)`,
  'vitest-containers-report.json',
  ['--project=!system', ...nats],
);
process.exit(compose || integration);
