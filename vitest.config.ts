import { defineConfig } from 'vitest/config';

const projects = [
  'packages/contracts',
  'packages/service-kit',
  'packages/alpaca-sim',
  'services/market-gateway',
  'services/strategy',
  'services/executor',
  'services/watchdog',
  'scripts',
];

/**
 * The whole-system tests run four services, NATS and the simulator at up to 240x market speed: on two cores
 * they must not share the machine with each other or with the rest of the suite (a clean-clone run once saw
 * orders stamped a second late and the strategy minutes behind while the replay ran beside another system).
 * They run last, one file at a time.
 */
const systemTests = [
  'test/incident-replay.test.ts',
  'test/degraded-feed.test.ts',
  'test/kill-each.test.ts',
  'test/prometheus.test.ts',
];

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources (the `vigil-source` export condition).
  resolve: { conditions: ['vigil-source'] },
  ssr: { resolve: { conditions: ['vigil-source'] } },
  test: {
    projects: [
      ...projects.map((root) => ({
        extends: true,
        test: {
          name: root.split('/').at(-1),
          root,
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'launcher/**/*.test.ts'],
          ...(root === 'scripts' ? { exclude: systemTests } : {}),
        },
      })),
      // `pnpm test:containers`: the image, the compose stack and the NATS cluster under a Docker engine
      // (scripts/containers). Never in the default run: it needs an engine, and it runs alone (test-containers.ts).
      {
        extends: true,
        test: {
          name: 'containers',
          root: 'scripts',
          include: ['containers/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 2 },
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'system',
          root: 'scripts',
          include: systemTests,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
    passWithNoTests: true,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.vigil/vitest-report.json' },
  },
});
