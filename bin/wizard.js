#!/bin/sh
":" /*
# Run as a program (`wizard`, npm's link to this file), this file is first a shell script: it starts
# node on itself with the settings only a process start can make (glibc's malloc arena cap, V8's
# young generation; bin/daemon-settings.js says what each saves), so `wizard start` is one process.
# A setting the caller gave is kept as given. To node, everything down to the end of this comment
# is a string and a comment; started as `node bin/wizard.js`, it runs the launcher below instead.
case "$GLIBC_TUNABLES" in *arena_max*) ;; *) export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX-2}" ;; esac
case " $NODE_OPTIONS " in *--max-semi-space-size*) exec node "$0" "$@" ;; esac
exec node --max-semi-space-size=1 "$0" "$@"
*/
// The `wizard` command (package.json's bin): a thin launcher; the real entry is compiled from src/main.ts into dist/.
//
// It is CommonJS (see bin/package.json) so that it runs before libuv starts its thread pool: the
// pool is sized once, on first use, and an ES module entry is itself read through the pool.
// Every file system call shares that pool (4 threads by default), and each pulled file is fsynced
// before its rename. On a disk where one fsync takes ~6 ms, fsyncs running side by side are what
// lets a burst of small files land at disk speed (the journal commits them together) instead of
// four at a time, with every other file operation queued behind them.
//
// `node bin/wizard.js start` (node named on the command line, so the shell lines above did not run)
// without the memory settings starts the daemon once more with them, as its child, and stays as a
// small parent: the daemon writes to the same stdout and stderr, SIGINT and SIGTERM are passed on,
// and the parent ends as the daemon did (its exit code, or the same signal). The daemon stops itself
// when the parent is gone (an IPC channel that disconnects), so it never outlives its launcher. The
// service unit sets both settings, so under systemd no second process runs either.
'use strict';
process.env.UV_THREADPOOL_SIZE ??= '32';

function runHere() {
  import('../dist/main.js').catch((err) => {
    const unbuilt = err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/main.js');
    console.error(unbuilt ? "wizard: dist/main.js is missing; run 'npm run build' first" : `wizard: cannot start: ${err && err.stack ? err.stack : err}`);
    process.exitCode = 1;
  });
}

function runAsChild(plan) {
  const { spawn } = require('node:child_process');
  const { constants } = require('node:os');
  const child = spawn(process.execPath, [...plan.nodeArgs, __filename, ...process.argv.slice(2)], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: plan.env });
  // A Ctrl-C reaches both processes (one process group); the daemon takes a repeated stop signal as the same request.
  const pass = (signal) => () => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, pass(signal));
  child.once('error', (err) => {
    // Not started at all (no memory for a process, say): run the daemon here, without the settings.
    console.error(`wizard: could not start the daemon with its memory settings (${err.message}); starting it without them`);
    for (const signal of ['SIGINT', 'SIGTERM']) process.removeAllListeners(signal);
    runHere();
  });
  child.once('exit', (code, signal) => {
    if (signal === null) process.exit(code ?? 1);
    // Ended by a signal: end by the same one, so a shell or systemd sees what the daemon saw.
    process.removeAllListeners(signal);
    if (['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL'].includes(signal)) process.kill(process.pid, signal);
    process.exit(128 + (constants.signals[signal] ?? 0));
  });
}

const plan = require('./daemon-settings.js').relaunchPlan(process.argv.slice(2), process.env, process.execArgv, process.platform);
if (plan === undefined) runHere();
else runAsChild(plan);
