import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.{ts,mjs}'],
    // Each test file in its own process: native crashes stay contained and
    // worker_threads tests see a fresh addon.
    pool: 'forks',
    // --expose-gc: memory tests check that dropped indexes are collected.
    poolOptions: { forks: { maxForks: 2, minForks: 1, execArgv: ['--expose-gc'] } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.cache/vitest-results.json' },
  },
});
