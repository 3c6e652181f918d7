import { corralVitestConfig } from '@corral/test-support/vitest';

export default corralVitestConfig();
