/**
 * A node whose certificate comes from another CA cannot pair, and nothing syncs.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, initNode, runCli, startDaemon, tempDir, type TestNode } from '../support/daemon.js';

let base: string;
let a: TestNode;
let stranger: TestNode;

beforeAll(async () => {
  base = tempDir('stranger');
  a = await initNode(base, 'alpha');
  stranger = await initNode(base, 'stranger'); // its own, different CA
  await startDaemon(a);
  await startDaemon(stranger);
});

afterAll(async () => {
  await cleanup(base, [a, stranger]);
});

it('refuses to pair with a node from another CA, in one line, and records nothing', async () => {
  writeFileSync(path.join(a.folder, 'secret.txt'), 'not for strangers');
  const res = await runCli(stranger.home, ['pair', `127.0.0.1:${a.port}`]);
  expect(res.code).not.toBe(0);
  expect(res.stderr.trim().split('\n')).toHaveLength(1);
  expect(res.stderr).toMatch(/another CA/);
  expect(readFileSync(path.join(stranger.home, 'config.yaml'), 'utf8')).not.toContain(a.id);
  expect(readFileSync(path.join(a.home, 'config.yaml'), 'utf8')).not.toContain(stranger.id);
  const status = await a.daemon?.status();
  expect(status?.peers).toEqual([]);
  expect(existsSync(path.join(stranger.folder, 'secret.txt'))).toBe(false);
});

it('says in one line that an unreachable peer cannot be reached', async () => {
  const res = await runCli(stranger.home, ['pair', '127.0.0.1:1']);
  expect(res.code).not.toBe(0);
  expect(res.stderr.trim().split('\n')).toHaveLength(1);
  expect(res.stderr).toMatch(/cannot reach 127\.0\.0\.1:1/);
});

it('says plainly that pairing a node with itself is pairing with this node, and records nothing (issue 20 item 4)', async () => {
  const before = readFileSync(path.join(a.home, 'config.yaml'), 'utf8');
  const res = await runCli(a.home, ['pair', `127.0.0.1:${a.port}`]);
  expect(res.code).toBe(2);
  expect(res.stderr.trim().split('\n')).toHaveLength(1);
  expect(res.stderr).toMatch(/^wizard: that is this node: /);
  expect(readFileSync(path.join(a.home, 'config.yaml'), 'utf8')).toBe(before);
});

it('says a name that does not resolve cannot be resolved, not that the peer is down (issue 20 item 4)', async () => {
  // .invalid never resolves (RFC 2606).
  const res = await runCli(stranger.home, ['pair', 'laptop.invalid']);
  expect(res.code).not.toBe(0);
  expect(res.stderr.trim().split('\n')).toHaveLength(1);
  expect(res.stderr).toMatch(/^wizard: cannot resolve laptop\.invalid: /);
});
