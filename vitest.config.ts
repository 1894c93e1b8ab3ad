import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native addons and child processes: separate processes, not threads.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Kernel-facing suites create and delete namespaces and veths; one file
    // at a time keeps them from stepping on each other on a 2-core machine.
    fileParallelism: false,
  },
});
