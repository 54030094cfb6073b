/**
 * Three nodes in a chain, A - B - C, with A and C never connected: every
 * change still reaches every node, through B.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, initNode, runCli, startDaemon, tempDir, waitConnected, waitSameTree, type TestNode } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';

let base: string;
let a: TestNode;
let b: TestNode;
let c: TestNode;

beforeAll(async () => {
  base = tempDir('chain');
  a = await initNode(base, 'alpha');
  b = await initNode(base, 'beta', a);
  c = await initNode(base, 'gamma', a);
  await Promise.all([startDaemon(a), startDaemon(b), startDaemon(c)]);
  for (const [from, to] of [[b, a], [c, b]] as const) {
    const res = await runCli(from.home, ['pair', `127.0.0.1:${to.port}`]);
    expect(res.code, res.stderr).toBe(0);
  }
  await waitConnected(a, b);
  await waitConnected(b, c);
});

afterAll(async () => {
  await cleanup(base, [a, b, c]);
});

it('carries changes from one end of the chain to the other, both ways', async () => {
  const statusA = await a.daemon?.status();
  expect(statusA?.peers.map((p) => p.id)).toEqual([b.id]);

  writeFileSync(path.join(a.folder, 'from-alpha.txt'), 'A');
  await waitFor('from-alpha.txt on gamma', () => existsSync(path.join(c.folder, 'from-alpha.txt')));
  writeFileSync(path.join(c.folder, 'from-alpha.txt'), 'edited on gamma');
  await waitFor('gamma edit on alpha', () => readFileSync(path.join(a.folder, 'from-alpha.txt'), 'utf8') === 'edited on gamma');
  await waitSameTree(a, c);
  await waitSameTree(a, b);
});
