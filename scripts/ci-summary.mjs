// Reads vitest's JSON reports and prints the one line CI reads: `N passed, N failed`.
//   node scripts/ci-summary.mjs <exit status of ./vigil test> <report> [<report> ...]
// A run that failed before vitest wrote a report (install, typecheck, no Docker engine) counts as one failure.
import { existsSync, readFileSync } from 'node:fs';

const [statusText, ...reportPaths] = process.argv.slice(2);
const status = Number(statusText ?? 1);
let passed = 0;
let failed = 0;
for (const reportPath of reportPaths) {
  if (existsSync(reportPath)) {
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    passed += report.numPassedTests ?? 0;
    failed += report.numFailedTests ?? 0;
  } else {
    console.error(`no test report at ${reportPath}: that run failed before its tests (see the output above)`);
    failed += 1;
  }
}
if (status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
