#!/usr/bin/env node
// npm run demo: two Wizard nodes on loopback in temp dirs, one CA, paired with
// the real CLI; files written on one appear on the other. Exits 0 on success.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'wizard.js');
const base = mkdtempSync(path.join(os.tmpdir(), 'wizard-demo-'));
const children = [];
const t0 = Date.now();
const say = (line) => console.log(`[${String(Date.now() - t0).padStart(5)} ms] ${line}`);

function cli(home, args) {
  return execFileSync(process.execPath, [bin, '--home', home, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (check()) return;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function node(name, caFrom) {
  const home = path.join(base, name, 'home');
  const folder = path.join(base, name, 'folder');
  const port = await freePort();
  const args = ['init', '--name', name, '--listen', `127.0.0.1:${port}`, '--folder', `demo=${folder}`, '--json'];
  if (caFrom) args.push('--ca', path.join(caFrom.home, 'certs'));
  const { id } = JSON.parse(cli(home, args));
  say(`${name}: initialised, node ID ${id.slice(0, 16)}…`);
  const child = spawn(process.execPath, [bin, '--home', home, 'start'], { stdio: 'ignore' });
  children.push(child);
  await until(`${name} to start`, () => JSON.parse(cli(home, ['status', '--json'])).listen !== '');
  say(`${name}: daemon running on 127.0.0.1:${port}, folder ${folder}`);
  return { name, home, folder, port, id };
}

function connected(x, y) {
  return JSON.parse(cli(x.home, ['status', '--json'])).peers.some((p) => p.id === y.id && p.connected);
}

async function main() {
  const alpha = await node('alpha');
  const beta = await node('beta', alpha);
  say(`beta: ${cli(beta.home, ['pair', `127.0.0.1:${alpha.port}`]).split('\n')[0]}`);
  await until('the two nodes to connect', () => connected(alpha, beta) && connected(beta, alpha));
  say('alpha <-> beta connected over mutual TLS');

  const started = Date.now();
  writeFileSync(path.join(alpha.folder, 'hello.txt'), 'Hello from alpha!\n');
  await until('hello.txt on beta', () => readFileSync(path.join(beta.folder, 'hello.txt'), 'utf8') === 'Hello from alpha!\n');
  say(`alpha wrote hello.txt -> on beta after ${Date.now() - started} ms`);

  const burst = Date.now();
  mkdirSync(path.join(beta.folder, 'notes'));
  for (let i = 0; i < 100; i++) writeFileSync(path.join(beta.folder, 'notes', `note-${i}.md`), `# note ${i}\n`);
  await until('100 notes on alpha', () => existsSync(path.join(alpha.folder, 'notes', 'note-99.md')) && readFileSync(path.join(alpha.folder, 'notes', 'note-99.md'), 'utf8') === '# note 99\n');
  say(`beta wrote 100 notes -> all on alpha after ${Date.now() - burst} ms`);

  rmSync(path.join(alpha.folder, 'hello.txt'));
  await until('hello.txt deleted on beta', () => !existsSync(path.join(beta.folder, 'hello.txt')));
  say("alpha deleted hello.txt -> gone on beta (kept in beta's .wizard/trash)");
  say('demo complete');
}

try {
  await main();
  process.exitCode = 0;
} catch (err) {
  console.error(`demo failed: ${err.message}`);
  process.exitCode = 1;
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.on('exit', r)))));
  rmSync(base, { recursive: true, force: true });
}
