import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 180_000,
    // Files open their own databases; two cores, so two files at a time.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
