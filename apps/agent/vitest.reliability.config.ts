import { corralVitestConfig } from '@corral/test-support/vitest';

/** The reliability suite (crashes, load, soak, fuzzing): `pnpm test:reliability`. */
export default corralVitestConfig({
  include: ['test/reliability/**/*.reliability.test.ts'],
  outputFile: { json: 'test-results/reliability.json' },
  testTimeout: 600_000,
  hookTimeout: 120_000,
  fileParallelism: false,
});
