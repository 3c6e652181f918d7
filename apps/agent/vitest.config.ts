import { corralVitestConfig } from '@corral/test-support/vitest';

// The reliability suite has its own config and task (`test:reliability`).
export default corralVitestConfig({ exclude: ['**/node_modules/**', 'test/reliability/**'] });
