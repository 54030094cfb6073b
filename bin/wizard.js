#!/usr/bin/env node
// The `wizard` command (package.json's bin): a thin launcher; the real entry is compiled from src/main.ts into dist/.
//
// It is CommonJS (see bin/package.json) so that it runs before libuv starts its thread pool: the
// pool is sized once, on first use, and an ES module entry is itself read through the pool.
// Every file system call shares that pool (4 threads by default), and each pulled file is fsynced
// before its rename. On a disk where one fsync takes ~6 ms, fsyncs running side by side are what
// lets a burst of small files land at disk speed (the journal commits them together) instead of
// four at a time, with every other file operation queued behind them.
'use strict';
process.env.UV_THREADPOOL_SIZE ??= '32';
import('../dist/main.js').catch((err) => {
  const unbuilt = err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/main.js');
  console.error(unbuilt ? "wizard: dist/main.js is missing; run 'npm run build' first" : `wizard: cannot start: ${err && err.stack ? err.stack : err}`);
  process.exitCode = 1;
});
