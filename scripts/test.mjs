#!/usr/bin/env node
// npm test: the build, the type check and the lint side by side, then the vitest suite. The end-to-end
// tests run the daemon from dist/, so the suite needs the build; it also waits for the two checks (each
// a single-threaded process of 20-60 s): the suite runs three files at a time on two cores, and in the
// one run that had the checks beside it, three waits that pass on their own timed out (two of
// peer-modes-and-deletions' cases and a random round); the same suite alone passed. Each check's output
// is printed whole when it ends, so nothing interleaves. Any failure fails the run; a failed build runs
// no test. Arguments are passed on to vitest.
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
const tests = Promise.all([build, ...checks]).then(([b]) => (b.code === 0 ? suite() : { name: 'tests (not run: the build failed)', code: 1 }));
const results = await Promise.all([build, ...checks, tests]);
const failed = results.filter((r) => r.code !== 0).map((r) => r.name);
process.stdout.write(failed.length === 0 ? '\nnpm test: build, type check, lint and tests passed\n' : `\nnpm test: failed: ${failed.join(', ')}\n`);
process.exit(failed.length === 0 ? 0 : 1);
