#!/usr/bin/env node
// `npm run bench`: Wizard (and with --vs, Syncthing and rsync) over the same seeded workloads on
// 127.0.0.1, alternating systems within one run, then one side-by-side table. See --help and
// docs/BENCHMARKS.md. Scratch data lives under $WZB (default /tmp/wzb-wizard) and is removed at
// the end; raw results go to bench/results/ (gitignored).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArgsError, parseArgs, planGroups, usage } from './lib/args.mjs';
import { describeProfile, profileFor } from './lib/profile.mjs';
import { machineDescription, run, runOk, stopAll } from './lib/proc.mjs';
import { noteDeletions, waitOutDeletions } from './lib/deleted-inodes.mjs';
import { runSuite } from './lib/runner.mjs';
import { formatReport } from './lib/table.mjs';
import { ensureTemplates, templateRoot } from './lib/templates.mjs';
import { ensureTools } from './lib/tools.mjs';
import { createFloorDriver } from './drivers/floor.mjs';
import { createRsyncDriver } from './drivers/rsync.mjs';
import { createSyncthingDriver } from './drivers/syncthing.mjs';
import { createWizardDriver } from './drivers/wizard.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');
const DRIVERS = { wizard: createWizardDriver, syncthing: createSyncthingDriver, rsync: createRsyncDriver, floor: createFloorDriver };
// Free space wanted under $WZB before starting: templates plus the largest group on both sides of one system.
// Small-file trees are kept until the run ends (bench/lib/deleted-inodes.mjs): a full run holds about 5 GiB of them.
const NEED_FREE_BYTES = { full: 14 * 2 ** 30, quick: 2 * 2 ** 30 };
/**
 * What SCALE-1M needs on its own: every file of 1-4 KiB takes one 4 KiB block, twice (the
 * template and the copy the node indexes), plus the index and the dirs; and two inodes a file.
 */
const scale1mNeeds = (spec) => ({ bytes: 2 * spec.files * 4096 + 2 * 2 ** 30, inodes: 2 * (spec.files + spec.topDirs * 10) + 100_000 });

const started = Date.now();
const loadAtStart = os.loadavg()[0];
const log = (line) => {
  const s = Math.round((Date.now() - started) / 1000);
  process.stderr.write(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`);
};
const fail = (msg, code = 1) => {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(code);
};

async function gitDescription() {
  const head = await run('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']);
  if (head.code !== 0) return 'not a git checkout';
  const dirty = await run('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no', '--', 'src']);
  return `commit ${head.stdout.trim()}${dirty.stdout.trim() ? ' + uncommitted changes in src/' : ''}`;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ArgsError) fail(err.message, 2);
    throw err;
  }
  if (opts.help) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  if (opts.from) {
    const saved = JSON.parse(fs.readFileSync(opts.from, 'utf8'));
    process.stdout.write(formatReport(saved.run, saved.results));
    return;
  }

  const base = profileFor(opts.quick);
  const profile = { ...base, reps: opts.reps ?? base.reps, latReps: opts.latReps ?? base.latReps };
  const systems = ['wizard', ...opts.vs];
  const groups = planGroups(opts.workloads);
  const wzb = path.resolve(process.env.WZB ?? '/tmp/wzb-wizard');
  const scratch = path.join(wzb, `run-${process.pid}`);
  const resultsDir = path.join(repoRoot, 'bench', 'results');
  const stamp = `${new Date(started).toISOString().replace(/[:.]/g, '-')}-${profile.name}`;
  const cleanups = [() => fs.rmSync(scratch, { recursive: true, force: true })];

  const stats = fs.statfsSync(fs.existsSync(wzb) ? wzb : path.dirname(wzb));
  const withScale1m = groups.some((g) => g.name === 'SCALE1M');
  const needs = withScale1m ? scale1mNeeds(profile.scale1m) : { bytes: 0, inodes: 0 };
  const needBytes = Math.max(NEED_FREE_BYTES[profile.name], needs.bytes);
  if (stats.bavail * stats.bsize < needBytes) {
    fail(`${wzb} has ${(stats.bavail * stats.bsize / 2 ** 30).toFixed(1)} GiB free, the ${profile.name} run${withScale1m ? ' with SCALE-1M' : ''} needs ${(needBytes / 2 ** 30).toFixed(1)} GiB (set WZB=)`);
  }
  if (stats.ffree < needs.inodes) {
    fail(`${wzb} has ${stats.ffree} free inodes, SCALE-1M needs ${needs.inodes} (set WZB= to a filesystem with more)`);
  }
  const stop = (signal) => {
    stopAll();
    for (const c of cleanups) c();
    noteDeletions(wzb);
    process.stderr.write(`bench: interrupted by ${signal}; processes stopped, scratch removed\n`);
    process.exit(130);
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  // A private build of src/ outside the repo, so a rebuild of dist/ by someone else during a
  // long run cannot change the code under test (tsc emits even when the types do not check).
  // It resolves packages through a node_modules link and is ESM through its own package.json,
  // which carries the version too: the CLI reads it from the package.json beside dist/.
  let wizardEntry;
  if (opts.build) {
    const snapshot = path.join(wzb, `build-${process.pid}`);
    fs.mkdirSync(snapshot, { recursive: true });
    const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    fs.writeFileSync(path.join(snapshot, 'package.json'), `${JSON.stringify({ type: 'module', version })}\n`);
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(snapshot, 'node_modules'));
    log(`compiling src/ into ${snapshot}`);
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    await runOk(process.execPath, [tsc, '-p', path.join(repoRoot, 'tsconfig.build.json'), '--outDir', path.join(snapshot, 'dist'), '--tsBuildInfoFile', path.join(snapshot, 'dist', '.tsbuildinfo')], { cwd: repoRoot, timeoutMs: 300_000 }).catch((err) => {
      fs.rmSync(snapshot, { recursive: true, force: true });
      fail(`src/ does not compile, nothing measured: ${err.message.replace(/^.*?failed \(exit \d+\): /, '')}`);
    });
    cleanups.push(() => fs.rmSync(snapshot, { recursive: true, force: true }));
    // The daemons start through the same launcher as `wizard` itself (it sizes libuv's thread pool).
    fs.cpSync(path.join(repoRoot, 'bin'), path.join(snapshot, 'bin'), { recursive: true });
    wizardEntry = path.join(snapshot, 'bin', 'wizard.js');
  }
  await ensureTools(systems, log);

  if (!opts.keepData) cleanups.push(() => fs.rmSync(templateRoot(wzb, profile, opts.seed), { recursive: true, force: true }));
  log(`generating templates (${profile.name} profile) under ${wzb}`);
  const tpl = await ensureTemplates({ wzb, profile, seed: opts.seed, groups, log });
  fs.mkdirSync(scratch, { recursive: true });
  const genScript = path.join(here, 'lib', 'gen.mjs');
  const ctx = {
    profile,
    seed: opts.seed,
    latReps: profile.latReps,
    workloads: opts.workloads,
    syncthingDelayS: opts.syncthingDelayS,
    tpl,
    scratch,
    repoRoot,
    log,
    verbose: opts.verbose ? log : () => {},
    keepRunDirs: false,
    logDir: path.join(resultsDir, `logs-${stamp}`),
    wizardEntry,
    spawnBurst: (dir) => runOk(process.execPath, [genScript, 'burst', dir, '--seed', String(opts.seed), ...(opts.quick ? ['--quick'] : [])], { timeoutMs: 300_000 }),
  };
  const drivers = systems.map((s) => DRIVERS[s](ctx));
  const versions = [];
  for (const d of drivers) versions.push(await d.prepare());
  versions[0] = `${versions[0]}, ${await gitDescription()}`;
  versions.push(`node ${process.version}`);

  // The templates just written (1.5 GiB for a full run) would otherwise be flushed 30 s later,
  // in the middle of LAT: every fsync then waits behind them (LAT rename probes of 0.4-1.8 s).
  await runOk('sync', [], { timeoutMs: 300_000 });
  await waitOutDeletions(wzb, log);
  let results;
  try {
    results = await runSuite({ drivers, groups, reps: profile.reps, log });
  } finally {
    for (const d of drivers) await d.cleanup();
    for (const c of cleanups) c();
    noteDeletions(wzb);
  }

  const runInfo = {
    title: `Wizard benchmark, ${profile.name} profile${opts.vs.length ? `, side by side with ${opts.vs.join(' and ')}` : ''}`,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: machineDescription(),
    started: new Date(started).toISOString(),
    durationS: (Date.now() - started) / 1000,
    settings: `1-min load average ${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end; seed ${opts.seed}; ${profile.reps} repetition(s) of SMALL/BIG/EDIT/SHIFT/BURST/COMPRESS, LAT/MIXED/SCALE/SCALE-1M/IDLE once; LAT ${profile.latReps} probes per mode after 1 warm-up, ${profile.latGapMs}-${profile.latGapMs + 500} ms apart`,
    versions,
    sizes: describeProfile(profile),
    systems: drivers.map((d) => ({ id: d.id, label: d.label })),
    configs: drivers.map((d) => `${d.label}: ${d.config}`),
  };
  const outFile = path.resolve(opts.out ?? path.join(resultsDir, `${stamp}.json`));
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify({ run: runInfo, results }, null, 2)}\n`);
  const report = formatReport(runInfo, results);
  fs.writeFileSync(outFile.replace(/\.json$/, '.md'), report);
  process.stdout.write(`\n${report}`);
  log(`raw results: ${path.relative(process.cwd(), outFile)}`);
}

main().catch((err) => {
  stopAll();
  fail(err instanceof Error ? err.message.split('\n')[0] : String(err));
});
