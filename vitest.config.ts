import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Redis, PostgreSQL and Chromium: found, or private servers started, before any test.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Many tests spawn real processes; keep the 2-core machine from thrashing.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
