// Settings the daemon's process can only get when it starts, and whether `wizard start` must start
// itself once more to get them (bin/wizard.js does; docs/BENCHMARKS.md, "What a node's idle memory
// is made of", has what each saves). Pure: argv, environment and node flags in, a plan out.
'use strict';

/** glibc's cap on malloc arenas: each libuv pool thread that allocates otherwise keeps an arena of its own. */
const ARENA_MAX = '2';
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
  // Only glibc reads it; a musl or macOS libc would start a second process for nothing.
  const arenaWanted = platform === 'linux' && env.MALLOC_ARENA_MAX === undefined && !(env.GLIBC_TUNABLES ?? '').includes('arena_max');
  if (flagGiven && !arenaWanted) return undefined;
  return {
    nodeArgs: flagGiven ? [...execArgv] : [...execArgv, SEMI_SPACE_FLAG],
    env: { ...env, ...(arenaWanted ? { MALLOC_ARENA_MAX: ARENA_MAX } : {}), [RELAUNCHED]: '1' },
  };
}

module.exports = { relaunchPlan, isStart, ARENA_MAX, SEMI_SPACE_FLAG, RELAUNCHED };
