import { corralVitestConfig } from '@corral/test-support/vitest';

// One cluster for the whole file: its tests run in order against the same nodes.
export default corralVitestConfig({ testTimeout: 120_000, hookTimeout: 120_000 });
