/**
 * `wizard conflicts` through the real CLI on conflict copies made by hand:
 * listing (text and JSON), each way of resolving, exit codes, hostile names.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, initNode, runCli, tempDir, type TestNode } from '../support/daemon.js';

let base: string;
let node: TestNode;

function write(rel: string, content: string): void {
  const abs = path.join(node.folder, ...rel.split('/'));
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, content);
}

const read = (rel: string) => readFileSync(path.join(node.folder, ...rel.split('/')), 'utf8');
const trashNames = () => readdirSync(path.join(node.folder, '.wizard', 'trash'), { recursive: true }).map(String);

beforeAll(async () => {
  base = tempDir('conflicts-cli');
  node = await initNode(base, 'solo');
  write('.wizard/folder', 'shared\n');
});

afterAll(async () => {
  await cleanup(base, [node]);
});

describe('wizard conflicts', () => {
  it('says there are none', async () => {
    expect(await runCli(node.home, ['conflicts'])).toMatchObject({ code: 0, stdout: 'No conflicts.\n' });
  });

  it('lists each copy with both sides, naming this node when the losing edit was ours', async () => {
    write('a.txt', 'mine');
    write('a.sync-conflict-20261125-093005-1234abcd.txt', 'theirs!');
    write(`d/b.sync-conflict-20261124-080000-${node.id.slice(0, 16)}.md`, 'x');
    const json = await runCli(node.home, ['conflicts', '--json']);
    expect(json.code).toBe(0);
    const { conflicts } = JSON.parse(json.stdout) as { conflicts: Array<Record<string, unknown>> };
    expect(conflicts).toHaveLength(2);
    expect(conflicts[0]).toMatchObject({
      folder: 'shared',
      original: 'a.txt',
      node: '1234abcd',
      label: '',
      copyBy: 'node 1234abcd',
      copyIsOurs: false,
      atMs: Date.UTC(2026, 10, 25, 9, 30, 5),
      file: { path: 'a.txt', exists: true, size: 4 },
      copy: { path: 'a.sync-conflict-20261125-093005-1234abcd.txt', exists: true, size: 7 },
    });
    expect(conflicts[1]).toMatchObject({ original: 'd/b.md', copyBy: 'this node', copyIsOurs: true, file: { exists: false } });
    const text = await runCli(node.home, ['conflicts']);
    expect(text.stdout).toContain('shared/a.txt  (conflict at 2026-11-25 09:30:05)\n  the file:       the edit that won, modified ');
    expect(text.stdout).toMatch(/\n {2}conflict copy: {2}node 1234abcd's edit, which lost; modified .*, 7 B\n {18}a\.sync-conflict-20261125-093005-1234abcd\.txt\n/);
    expect(text.stdout).toMatch(/\n {2}the file: {7}deleted\n {2}conflict copy: {2}this node's edit \(solo\), which lost;/);
  });

  it('escapes control characters in conflict names', async () => {
    write('\u001b[2Jx.sync-conflict-20261125-093005-ff.txt', 'e');
    const res = await runCli(node.home, ['conflicts']);
    expect(res.stdout).toContain('\\x1b[2Jx.txt');
    expect(res.stdout).not.toContain('\u001b');
    rmSync(path.join(node.folder, '\u001b[2Jx.sync-conflict-20261125-093005-ff.txt'));
  });

  it('keeps the copy: it replaces the file, which goes to the trash', async () => {
    const res = await runCli(node.home, ['conflicts', 'keep', path.join(node.folder, 'a.txt'), '--copy', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ folder: 'shared', kept: 'copy', keptEdit: "the conflict copy (node 1234abcd's edit)", paths: ['a.txt'], trashed: [expect.stringMatching(/^a\.txt~/) as string] });
    expect(read('a.txt')).toBe('theirs!');
    expect(existsSync(path.join(node.folder, 'a.sync-conflict-20261125-093005-1234abcd.txt'))).toBe(false);
    const list = JSON.parse((await runCli(node.home, ['trash', 'list', '--json'])).stdout) as { entries: Array<{ path: string; cause: string }> };
    expect(list.entries.find((e) => e.path === 'a.txt')?.cause).toBe('conflict-resolved');
  });

  it('keeps the file: the copy goes to the trash', async () => {
    write('m.txt', 'mine');
    write('m.sync-conflict-20261125-093005-ff.txt', 'theirs');
    const res = await runCli(node.home, ['conflicts', 'keep', 'm.sync-conflict-20261125-093005-ff.txt', '--file', '--folder', 'shared']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^Kept the file at shared\/m\.txt\nThe other side is in the trash as m\.sync-conflict-/);
    expect(read('m.txt')).toBe('mine');
    expect(trashNames().some((n) => n.startsWith('m.sync-conflict-20261125-093005-ff.txt~'))).toBe(true);
  });

  it('keeps both: the copy gets a plain name and is no longer listed', async () => {
    write('k.txt', 'mine');
    write('k.sync-conflict-20261125-093005-ff.txt', 'theirs');
    const res = await runCli(node.home, ['conflicts', 'keep', 'k.txt', '--both', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ folder: 'shared', kept: 'both', keptEdit: 'both sides', paths: ['k.txt', 'k.from-ff-20261125-093005.txt'], trashed: [] });
    expect(read('k.from-ff-20261125-093005.txt')).toBe('theirs');
    const left = JSON.parse((await runCli(node.home, ['conflicts', '--json'])).stdout) as { conflicts: Array<{ original: string }> };
    expect(left.conflicts.map((c) => c.original)).toEqual(['d/b.md']);
  });

  it("--mine keeps this node's edit: the copy when the copy is this node's, the file when it is another node's", async () => {
    write('ours.txt', 'the edit that won');
    write(`ours.sync-conflict-20261125-093005-solo-${node.id.slice(0, 7)}.txt`, "this node's edit");
    const res = await runCli(node.home, ['conflicts', 'keep', 'ours.txt', '--mine']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^Kept the conflict copy \(this node's edit \(solo\)\) at shared\/ours\.txt\n/);
    expect(read('ours.txt')).toBe("this node's edit");
    write('peers.txt', 'this node won');
    write('peers.sync-conflict-20261125-093005-laptop-abcdef1.txt', "laptop's edit");
    const theirs = await runCli(node.home, ['conflicts', 'keep', 'peers.txt', '--mine']);
    expect(theirs.code, theirs.stderr).toBe(0);
    expect(theirs.stdout).toMatch(/^Kept the file at shared\/peers\.txt\n/);
    expect(read('peers.txt')).toBe('this node won');
  });

  it('finds numbered copies, both old-style and named ones', async () => {
    write('n.txt', 'x');
    write('n.sync-conflict-20261125-093005-abcdef1-2.txt', 'old numbered');
    write('n.sync-conflict-20261125-093005-laptop-abcdef1-3.txt', 'new numbered');
    const { conflicts } = JSON.parse((await runCli(node.home, ['conflicts', '--json'])).stdout) as { conflicts: Array<{ original: string; copy: { path: string } }> };
    expect(conflicts.filter((c) => c.original === 'n.txt').map((c) => c.copy.path)).toEqual([
      'n.sync-conflict-20261125-093005-abcdef1-2.txt',
      'n.sync-conflict-20261125-093005-laptop-abcdef1-3.txt',
    ]);
    for (const copy of ['n.sync-conflict-20261125-093005-abcdef1-2.txt', 'n.sync-conflict-20261125-093005-laptop-abcdef1-3.txt']) {
      expect((await runCli(node.home, ['conflicts', 'keep', copy, '--file'])).code).toBe(0);
    }
  });

  it('fails with exit 2 without exactly one choice, or for a path with no conflict', async () => {
    const none = await runCli(node.home, ['conflicts', 'keep', 'k.txt', '--file']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no conflict for k\.txt/);
    const two = await runCli(node.home, ['conflicts', 'keep', 'd/b.md', '--file', '--copy']);
    expect(two.code).toBe(2);
    expect(two.stderr.trim().split('\n')).toHaveLength(1);
  });
});
