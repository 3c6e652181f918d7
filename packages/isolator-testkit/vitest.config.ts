// By path, not as a dependency: @corral/test-support builds its kernel gate on this package.
import { corralVitestConfig } from '../test-support/src/vitest-config.ts';

export default corralVitestConfig();
