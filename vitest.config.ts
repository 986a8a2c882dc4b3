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

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources (the `vigil-source` export condition).
  resolve: { conditions: ['vigil-source'] },
  ssr: { resolve: { conditions: ['vigil-source'] } },
  test: {
    projects: projects.map((root) => ({
      extends: true,
      test: { name: root.split('/').at(-1), root, include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'launcher/**/*.test.ts'] },
    })),
    passWithNoTests: true,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.vigil/vitest-report.json' },
  },
});
