/**
 * Cases that run only in `npm run test:long` (scripts/test-long.mjs sets
 * WIZARD_LONG=1). Each proves a property over a long stretch of real time
 * (a throttled upload held for seconds, a tree killed ten times over, a daemon killed at each crash point), and
 * `npm test` has to stay under 10 minutes on 2 cores; the rest of their
 * files, which cover the same code more briefly, runs in both.
 */
export const LONG_RUN = process.env.WIZARD_LONG === '1';
