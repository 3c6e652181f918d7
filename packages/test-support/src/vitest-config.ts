import { defineConfig, type ViteUserConfig } from 'vitest/config';

/**
 * The one vitest config every package uses: run workspace dependencies from source (the
 * `@corral/source` export condition), and write a JSON report that the root test command sums up
 * (so a run in which no test executed cannot pass).
 */
export function corralVitestConfig(overrides: ViteUserConfig['test'] = {}): ViteUserConfig {
  return defineConfig({
    resolve: { conditions: ['@corral/source'] },
    ssr: { resolve: { conditions: ['@corral/source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      reporters: ['default', 'json'],
      outputFile: { json: 'test-results/vitest.json' },
      testTimeout: 30_000,
      hookTimeout: 30_000,
      ...overrides,
    },
  });
}
