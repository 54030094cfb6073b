// Settings the daemon's process can only get when it starts, and whether `wizard start` must start
// itself once more to get them (bin/wizard.js does; docs/BENCHMARKS.md, "What a node's idle memory
// is made of", has what each saves). Pure: argv, environment and node flags in, a plan out.
'use strict';

/**
 * glibc's malloc, read from the environment at the process start (Linux only):
 * - the arena cap: each libuv pool thread that allocates otherwise keeps an arena of its own;
 * - fixed mmap and trim thresholds of 128 KiB (glibc's initial ones): by default each freed block
 *   over the threshold raises both, up to 32 and 64 MiB, and then the freed memory of a sync's
 *   buffers stays in the process for good.
 */
const GLIBC_ENV = Object.freeze({ MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' });
/** V8's young generation in MiB per semi-space: its default keeps up to 16 MiB reserved after a burst, for good. */
const SEMI_SPACE_FLAG = '--max-semi-space-size=1';
/** Set in the daemon started by the launcher, so it never starts itself a third time. */
const RELAUNCHED = 'WIZARD_RELAUNCHED';

/** Whether the command line (after `wizard`) runs `start`: the first word that is not an option or --home's value. */
function isStart(args) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--home') i++;
    else if (!a.startsWith('-')) return a === 'start';
  }
  return false;
}

/**
 * How to start the daemon with the settings it lacks, or undefined when it has them (set by the
 * user, the service unit or a test) or is not being started. A setting already given is kept as given.
 */
function relaunchPlan(args, env, execArgv, platform) {
  if (!isStart(args) || env[RELAUNCHED] !== undefined) return undefined;
  const flagGiven = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].some((f) => f.startsWith('--max-semi-space-size'));
  // Only glibc reads these; a musl or macOS libc would start a second process for nothing.
  const tunables = env.GLIBC_TUNABLES ?? '';
  const missing = platform !== 'linux' ? [] : Object.keys(GLIBC_ENV).filter((name) => env[name] === undefined && !tunables.includes(name.replace(/^MALLOC_|_$/g, '').toLowerCase()));
  if (flagGiven && missing.length === 0) return undefined;
  return {
    nodeArgs: flagGiven ? [...execArgv] : [...execArgv, SEMI_SPACE_FLAG],
    env: { ...env, ...Object.fromEntries(missing.map((name) => [name, GLIBC_ENV[name]])), [RELAUNCHED]: '1' },
  };
}

module.exports = { relaunchPlan, isStart, GLIBC_ENV, SEMI_SPACE_FLAG, RELAUNCHED };
