#!/usr/bin/env node
// npm test: the build, the type check, the lint and the vitest suite, overlapped. The end-to-end tests
// run the daemon from dist/, so the suite starts when the build has passed; the type check and the lint
// need no build and start with it, on the core the build leaves idle (each is a single-threaded process
// of 20-60 s). Much of the suite's time is spent waiting on real daemons, timers and disks, so the
// checks cost it little. The suite prints as it goes; each check's output is printed whole when it ends,
// so nothing interleaves. Any failure fails the run; a failed build runs no test. Arguments are passed
// on to vitest.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (...p) => path.join(repo, 'node_modules', ...p);
const tsc = bin('typescript', 'bin', 'tsc');

/** Runs one step with its output held back; resolves with its name and exit code. */
function step(name, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => out.push(c));
    child.on('error', (err) => resolve({ name, code: 1, text: `${err.message}\n` }));
    child.on('close', (code) => {
      const text = Buffer.concat(out).toString();
      process.stdout.write(`\n> ${name}: ${code === 0 ? 'passed' : `failed (exit ${code})`}\n${text}`);
      resolve({ name, code: code ?? 1 });
    });
  });
}

/** Runs the suite with its output shown as it goes. */
function suite() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin('vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], { cwd: repo, stdio: 'inherit' });
    child.on('error', () => resolve({ name: 'tests', code: 1 }));
    child.on('close', (code) => resolve({ name: 'tests', code: code ?? 1 }));
  });
}

const build = step('build', [tsc, '-p', 'tsconfig.build.json']);
const checks = [step('type check', [tsc, '-p', 'tsconfig.json', '--noEmit']), step('lint', [bin('eslint', 'bin', 'eslint.js'), '.'])];
const tests = build.then((b) => (b.code === 0 ? suite() : { name: 'tests (not run: the build failed)', code: 1 }));
const results = await Promise.all([build, ...checks, tests]);
const failed = results.filter((r) => r.code !== 0).map((r) => r.name);
process.stdout.write(failed.length === 0 ? '\nnpm test: build, type check, lint and tests passed\n' : `\nnpm test: failed: ${failed.join(', ')}\n`);
process.exit(failed.length === 0 ? 0 : 1);
