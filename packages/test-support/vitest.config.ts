import { corralVitestConfig } from './src/vitest-config.ts';

export default corralVitestConfig();
