// By path, not as a dependency: @corral/test-support builds on this package.
import { corralVitestConfig } from '../test-support/src/vitest-config.ts';

export default corralVitestConfig();
