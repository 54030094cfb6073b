#!/usr/bin/env node
// npm run test:long: the randomised tests with large counts, and the cases that hold a property over
// a long stretch of real time (test/support/long.ts), for the days the core changes
// (not part of npm test). Each count is an environment variable the test reads; set one to
// override it here, e.g. WIZARD_CHAOS_ROUNDS=50 npm run test:long. Builds first, as the
// end-to-end tests run the daemon from dist/. Expect about half an hour on 2 cores.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const counts = {
  WIZARD_CHAOS_ROUNDS: '20', // test/e2e/chaos.test.ts (2 in npm test)
  WIZARD_TEST_ROUNDS: '30', // test/e2e/random-rounds.test.ts (5)
  WIZARD_K1_ROUNDS: '10', // test/e2e/crash-points.test.ts, per crash point (1; 100 takes about an hour)
  FUZZ_RUNS: '10000', // test/protocol/fuzz.test.ts, per property (300)
  WIZARD_MODEL_RUNS: '10000', // test/sync/model.test.ts, per property (400)
  WIZARD_LONG: '1', // the cases test/support/long.ts names: K3, W2, the held upload limit, T8's 300 silent connections, K1's other crash points
  WIZARD_WALKTHROUGH_NPM_INSTALL: '1', // test/e2e/walkthrough.test.ts: a real npm install -g of the packed tarball (about 7 min; npm test lays out the tarball's files with the checkout's dependencies)
};
const files = ['test/e2e/chaos.test.ts', 'test/e2e/random-rounds.test.ts', 'test/e2e/crash-points.test.ts', 'test/protocol/fuzz.test.ts', 'test/sync/model.test.ts', 'test/fuzz/replay.test.ts', 'test/e2e/walkthrough.test.ts', 'test/e2e/watch-limit.test.ts', 'test/e2e/limits.test.ts', 'test/e2e/hostile-peer.test.ts'];
const env = { ...process.env };
for (const [name, value] of Object.entries(counts)) env[name] ??= value;
console.log(Object.keys(counts).map((name) => `${name}=${env[name]}`).join(' '));

const run = (args) => spawnSync(process.execPath, args, { cwd: repo, env, stdio: 'inherit' }).status ?? 1;
const built = run([path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
if (built !== 0) process.exit(built);
// Generous hook and test limits: the files scale their own, these cover the rest under a long run's load.
process.exit(run([path.join(repo, 'node_modules/vitest/vitest.mjs'), 'run', '--hookTimeout=180000', ...files]));
