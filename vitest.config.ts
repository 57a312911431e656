import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

/** Workspace packages (packages/*) are tested from their TypeScript sources, not a build. */
const conditions = ['@bastion/source', ...defaultServerConditions];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: [
      'src/**/*.test.ts',
      'test/**/*.test.ts',
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'examples/*/**/*.test.ts',
    ],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 180_000,
    // Files open their own databases; two cores, so two files at a time.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
