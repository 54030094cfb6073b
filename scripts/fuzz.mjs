#!/usr/bin/env node
// npm run fuzz: coverage-guided fuzzing of the frame decoder and the message decoder
// (test/fuzz/targets.ts) with Jazzer.js. Each target runs for FUZZ_SECONDS (default 180)
// from its committed corpus plus the seeds, then the corpus is minimised (libFuzzer
// -merge=1) and written back to test/fuzz/corpus/<target>/ for committing. A finding is
// saved under test/fuzz/findings/ and fails the run. FUZZ_TARGETS=message limits the
// targets; JAZZER_ADDON names a replacement native addon (scripts/jazzer-addon.cjs, test/fuzz/README.md).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = path.join(repo, '.fuzz-build');
const seconds = Number(process.env.FUZZ_SECONDS ?? 180);
const functions = { message: 'messageTarget', 'frame-stream': 'frameStreamTarget' };
const wanted = (process.env.FUZZ_TARGETS ?? Object.keys(functions).join(',')).split(',');

rmSync(build, { recursive: true, force: true });
execFileSync(process.execPath, [path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', path.join(repo, 'tsconfig.fuzz.json')], { stdio: 'inherit' });
const { seedInputs } = await import(pathToFileURL(path.join(build, 'test/fuzz/seeds.js')).href);
const seeds = seedInputs();

const cli = path.join(repo, 'node_modules/@jazzer.js/core/dist/cli.js');
// Through NODE_OPTIONS, not node's argv: libFuzzer's merge re-runs jazzer from a wrapper script that keeps only the env.
const env = process.env.JAZZER_ADDON ? { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${path.join(repo, 'scripts/jazzer-addon.cjs')}` } : process.env;
const jazzer = (fn, dirs, libFuzzerArgs) =>
  spawnSync(
    process.execPath,
    [cli, path.join(build, 'test/fuzz/targets.js'), '-f', fn, '--sync', '-i', '.fuzz-build/src/protocol/', '-i', '.fuzz-build/src/core/', ...dirs, '--', ...libFuzzerArgs],
    { cwd: repo, env, stdio: 'inherit' },
  );

const name = (data) => createHash('sha1').update(data).digest('hex');
let failed = false;
for (const target of wanted) {
  const fn = functions[target];
  if (fn === undefined) throw new Error(`no fuzz target ${target}; there are ${Object.keys(functions).join(', ')}`);
  const corpus = path.join(repo, 'test/fuzz/corpus', target);
  mkdirSync(corpus, { recursive: true });
  const work = mkdtempSync(path.join(os.tmpdir(), `wizard-fuzz-${target}-`));
  cpSync(corpus, work, { recursive: true });
  for (const seed of seeds[target]) writeFileSync(path.join(work, name(seed)), seed);
  const findings = path.join(repo, 'test/fuzz/findings');
  mkdirSync(findings, { recursive: true });
  console.log(`\n=== ${target}: ${seconds} s from ${readdirSync(work).length} inputs`);
  const run = jazzer(fn, [work], [`-max_total_time=${seconds}`, '-max_len=8192', `-artifact_prefix=${findings}/${target}-`]);
  if (run.status !== 0) {
    failed = true;
    console.error(`${target}: the fuzzer stopped with status ${run.status}; see test/fuzz/findings/`);
  }
  // Keep only inputs that add coverage, so the committed corpus stays small.
  const minimal = mkdtempSync(path.join(os.tmpdir(), `wizard-fuzz-${target}-min-`));
  const merge = jazzer(fn, [minimal, work], ['-merge=1', '-max_len=8192']);
  if (merge.status === 0) {
    rmSync(corpus, { recursive: true, force: true });
    cpSync(minimal, corpus, { recursive: true });
    console.log(`${target}: corpus minimised to ${readdirSync(corpus).length} inputs`);
  } else console.error(`${target}: minimising failed (status ${merge.status}); the committed corpus is unchanged`);
  rmSync(work, { recursive: true, force: true });
  rmSync(minimal, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
