import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One child process per test file: chdb binds one data directory per process, so every
    // file gets its own process and its own temp directory.
    pool: 'forks',
    isolate: true,
    maxWorkers: 2,
    globalSetup: ['test/helpers/globalSetup.ts'],
    // Every reply of a Nudge running in the test's process is checked against its documented schema.
    setupFiles: ['test/helpers/responseCheck.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
