#!/usr/bin/env node
// npm test's static checks, the type check and the lint, run side by side: each is one
// single-threaded process of 20-60 s, so on 2 cores together they take the longer one's time.
// Each one's output is printed whole when it ends, so the two never interleave.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (...p) => path.join(repo, 'node_modules', ...p);
const checks = [
  ['type check', [bin('typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--noEmit']],
  ['lint', [bin('eslint', 'bin', 'eslint.js'), '.']],
];

function run([name, args]) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => out.push(c));
    child.on('error', (err) => resolve({ name, code: 1, text: `${err.message}\n` }));
    child.on('close', (code) => resolve({ name, code: code ?? 1, text: Buffer.concat(out).toString() }));
  });
}

const results = await Promise.all(checks.map(run));
for (const r of results) {
  process.stdout.write(`> ${r.name}: ${r.code === 0 ? 'passed' : `failed (exit ${r.code})`}\n${r.text}`);
}
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
