// The floor under an idle node's memory on this runtime: a `node` process with the daemon's settings
// (MALLOC_ARENA_MAX=2, --max-semi-space-size=1, as bin/wizard.js starts it) that imports the daemon's
// modules (dist/cli/daemon.js: SQLite, msgpackr, pino, the watcher, the codecs, TLS) and starts
// nothing. No folder, index, socket or thread: what every Wizard node holds before it does anything.
// Sampled after a full GC and a second's rest, RUNS times (median); a bare `node` the same way beside it.
// A lower bound of a started daemon: `wizard start` also loads the CLI (dist/main.js, commander).
// Prints one JSON line: { rssMib, privateMib, bareRssMib, barePrivateMib, runs }.
// Usage: npm run build && node bench/probes/idle-floor.mjs [RUNS] [DIST] (DIST: a build's dist/, this tree's by default)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rollupKib, statusKib } from '../lib/proc.mjs';

const daemonModule = process.argv[3] === undefined ? new URL('../../dist/cli/daemon.js', import.meta.url) : pathToFileURL(path.resolve(process.argv[3], 'cli', 'daemon.js'));
if (!fs.existsSync(fileURLToPath(daemonModule))) throw new Error(`${fileURLToPath(daemonModule)} is missing: run npm run build`);
const runs = Number(process.argv[2] ?? 5);

/** Starts a node that runs `code` (imports, then a full GC), waits for its "ready" line, samples its memory, ends it. */
async function sample(code) {
  const child = spawn(process.execPath, ['--max-semi-space-size=1', '--expose-gc', '--input-type=module', '-e', code], {
    // bin/wizard.js's settings: the arena cap, and libuv's pool of 32 (module loading starts it).
    env: { ...process.env, MALLOC_ARENA_MAX: '2', UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '32' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c) => reject(new Error(`the sampled node ended early (${c})`)));
      child.stdout.on('data', (d) => String(d).includes('ready') && resolve());
    });
    return {
      rss: statusKib(child.pid, 'VmRSS') / 1024,
      // As the bench's IDLE counts a node's private memory (sampleGroups).
      priv: (rollupKib(child.pid, 'Private_Clean') + rollupKib(child.pid, 'Private_Dirty')) / 1024,
    };
  } finally {
    // Ended before the next sample starts, so two never overlap.
    const ended = new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)));
    child.kill();
    await ended;
  }
}

const settle = "globalThis.gc(); setTimeout(() => { globalThis.gc(); console.log('ready'); }, 1000); setInterval(() => {}, 60000);";
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const loaded = [];
const bare = [];
for (let i = 0; i < runs; i++) {
  loaded.push(await sample(`await import(${JSON.stringify(daemonModule.href)}); ${settle}`));
  bare.push(await sample(settle));
}
const round = (x) => Math.round(x * 10) / 10;
console.log(
  JSON.stringify({
    rssMib: round(median(loaded.map((s) => s.rss))),
    privateMib: round(median(loaded.map((s) => s.priv))),
    bareRssMib: round(median(bare.map((s) => s.rss))),
    barePrivateMib: round(median(bare.map((s) => s.priv))),
    runs,
  }),
);
