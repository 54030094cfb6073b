/**
 * Concurrent changes on two real daemons (THREATS.md 7.3): the same edit on
 * both sides, a delete racing an edit, a type change racing an edit, and
 * rename storms. "Concurrent" here means made while the two were apart, so
 * neither saw the other's change first.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, startDaemon, startPairedNodes, treeOf, waitConnected, waitSameTree, type TestNode } from '../support/daemon.js';

let base: string;
let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  ({ base, a, b } = await startPairedNodes('concurrency'));
}, 90_000);

afterAll(async () => {
  await cleanup(base, [a, b]);
});

/** Every file's content in a node's folder (not the trash), by path. */
function contents(node: TestNode): Map<string, string> {
  return new Map(treeOf(node.folder).filter((l) => l.startsWith('f ')).map((l) => {
    const rel = l.split(' ')[1] as string;
    return [rel, readFileSync(path.join(node.folder, rel), 'utf8')];
  }));
}

it('X2, X3, X5: while apart, the same edit on both sides, a delete against an edit, and a file turned dir or symlink against an edit', async () => {
  writeFileSync(path.join(a.folder, 'x2.txt'), 'base');
  writeFileSync(path.join(a.folder, 'x3.txt'), 'base');
  writeFileSync(path.join(a.folder, 'x5'), 'base');
  writeFileSync(path.join(a.folder, 'x5l'), 'base');
  await waitSameTree(a, b);
  expect(await b.daemon?.stop()).toBe(0);

  writeFileSync(path.join(a.folder, 'x2.txt'), 'the same edit');
  writeFileSync(path.join(b.folder, 'x2.txt'), 'the same edit');
  rmSync(path.join(a.folder, 'x3.txt'));
  writeFileSync(path.join(b.folder, 'x3.txt'), 'edited on beta');
  rmSync(path.join(a.folder, 'x5'));
  mkdirSync(path.join(a.folder, 'x5'));
  writeFileSync(path.join(a.folder, 'x5', 'inner.txt'), 'inside the new dir');
  writeFileSync(path.join(b.folder, 'x5'), 'x5 edited on beta');
  rmSync(path.join(a.folder, 'x5l'));
  symlinkSync('x2.txt', path.join(a.folder, 'x5l'));
  writeFileSync(path.join(b.folder, 'x5l'), 'x5l edited on beta');

  await startDaemon(b);
  await waitConnected(a, b);
  const tree = await waitSameTree(a, b, 60_000);
  for (const node of [a, b]) {
    const files = contents(node);
    // X2: identical content is no conflict.
    expect(files.get('x2.txt'), node.name).toBe('the same edit');
    expect([...files.keys()].filter((p) => p.startsWith('x2.sync-conflict')), node.name).toEqual([]);
    // X3: the edit wins over the delete.
    expect(files.get('x3.txt'), node.name).toBe('edited on beta');
    // X5: neither side's content is lost: the dir's file and beta's edit both live somewhere.
    const values = [...files.values()];
    expect(values, `${node.name}: ${tree.join(' | ')}`).toContain('inside the new dir');
    expect(values, `${node.name}: ${tree.join(' | ')}`).toContain('x5 edited on beta');
    // X5: a file turned symlink against an edit keeps both too.
    expect(values, `${node.name}: ${tree.join(' | ')}`).toContain('x5l edited on beta');
    expect(treeOf(node.folder).some((l) => l.startsWith('l x5l') && l.endsWith(' x2.txt')), `${node.name}: ${tree.join(' | ')}`).toBe(true);
  }
}, 120_000);

it('X6: a swap of two names and a chain of renames converge with every content under its new name', async () => {
  for (const [name, content] of [['swap-a.txt', 'content A'], ['swap-b.txt', 'content B'], ['c1.txt', 'chain'], ['dir1/f.txt', 'in a dir']] as const) {
    mkdirSync(path.dirname(path.join(a.folder, name)), { recursive: true });
    writeFileSync(path.join(a.folder, name), content);
  }
  await waitSameTree(a, b);
  renameSync(path.join(a.folder, 'swap-a.txt'), path.join(a.folder, 'swap-tmp'));
  renameSync(path.join(a.folder, 'swap-b.txt'), path.join(a.folder, 'swap-a.txt'));
  renameSync(path.join(a.folder, 'swap-tmp'), path.join(a.folder, 'swap-b.txt'));
  renameSync(path.join(a.folder, 'c1.txt'), path.join(a.folder, 'c2.txt'));
  renameSync(path.join(a.folder, 'c2.txt'), path.join(a.folder, 'c3.txt'));
  renameSync(path.join(a.folder, 'dir1'), path.join(a.folder, 'dir2'));
  await waitSameTree(a, b, 60_000);
  const files = contents(b);
  expect(files.get('swap-a.txt')).toBe('content B');
  expect(files.get('swap-b.txt')).toBe('content A');
  expect(files.get('c3.txt')).toBe('chain');
  expect(files.get('dir2/f.txt')).toBe('in a dir');
  for (const gone of ['swap-tmp', 'c1.txt', 'c2.txt', 'dir1/f.txt']) expect(existsSync(path.join(b.folder, gone)), gone).toBe(false);
}, 120_000);
