// Runs every package's tests through turbo, then sums the per-package vitest JSON reports into
// one closing line. Fails when any test failed, when no test ran at all, or (under CI=true) when
// a test was skipped: CI machines have root and the kernel features, so a skip there hides a gap.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

const workspaceDirs = ['packages', 'apps'].flatMap((group) =>
  existsSync(group) ? readdirSync(group).map((name) => join(group, name)) : [],
);
// Every vitest run writes a JSON report into its package's test-results/ (the unit and
// integration run, and the reliability suite where a package has one).
const reportsOf = (dir) => {
  const results = join(dir, 'test-results');
  return existsSync(results)
    ? readdirSync(results)
        .filter((file) => file.endsWith('.json'))
        .map((file) => join(results, file))
    : [];
};
for (const dir of workspaceDirs)
  for (const report of reportsOf(dir)) rmSync(report, { force: true });

// Four suites at a time on this 2-core kind of machine: more adds little speed but starves the
// timing-sensitive kernel tests (CPU quotas, event-loop stretches) of the CPU they measure.
const turboArgs = [
  'run',
  'test',
  'test:reliability',
  '--continue',
  '--concurrency=4',
  ...process.argv.slice(2),
];
const run = spawnSync('turbo', turboArgs, { stdio: 'inherit' });

// The first lines of each failure (without library stack frames), repeated at the end: CI logs
// are often read from the tail.
const FAILURE_LINES = 4;
const failures = [];
const firstLines = (text) =>
  text
    .split('\n')
    .filter((line) => line.trim() !== '' && !/node_modules|node:internal/.test(line))
    .slice(0, FAILURE_LINES)
    .map((line) => `      ${line.trim()}`);

const totals = { passed: 0, failed: 0, skipped: 0 };
for (const dir of workspaceDirs) {
  for (const file of reportsOf(dir)) {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    for (const suite of report.testResults) {
      if (suite.status === 'failed' && suite.assertionResults.length === 0)
        failures.push(`  ✗ ${relative('.', suite.name)}`, ...firstLines(suite.message ?? ''));
      for (const test of suite.assertionResults)
        if (test.status === 'failed')
          failures.push(
            `  ✗ ${relative('.', suite.name)} > ${test.fullName}`,
            ...firstLines(test.failureMessages.join('\n')),
          );
    }
    const failed = report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0);
    totals.passed += report.numPassedTests;
    totals.failed += failed;
    totals.skipped += report.numPendingTests + report.numTodoTests;
    console.log(
      `  ${file.replace('/test-results/', ': ').replace('.json', '')}: ${report.numPassedTests} passed, ${failed} failed`,
    );
  }
}

if (failures.length > 0) console.log(['Failed tests:', ...failures].join('\n'));

const ci = process.env.CI === 'true';
const problems = [];
if (run.status !== 0) problems.push(`turbo exited with ${run.status ?? run.signal}`);
if (totals.passed === 0) problems.push('no test ran');
if (ci && totals.skipped > 0) problems.push(`${totals.skipped} test(s) skipped under CI=true`);
console.log(`Tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
if (problems.length > 0) {
  console.error(`corral: test run failed: ${problems.join('; ')}`);
  process.exit(1);
}
