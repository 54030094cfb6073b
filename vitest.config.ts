import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real daemons as child processes; two cores is the budget. Most of an
    // end-to-end file's time is spent waiting on its daemons' timers, links and disks (the suite used
    // about 1.3 of 2 cores with two files at a time), so a third file at a time fills the idle part.
    pool: 'forks',
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
