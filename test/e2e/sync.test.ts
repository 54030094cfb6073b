/**
 * Two real daemons on loopback, initialised from one CA and paired with the
 * real CLI, keep a folder identical in both directions.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, initNode, runCli, startDaemon, tempDir, treeOf, waitConnected, waitSameTree, type TestNode } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';
import { duplicateTopLevelKeys } from '../support/log-keys.js';

let base: string;
let a: TestNode;
let b: TestNode;

/** Every file in a folder's trash, relative to the trash dir. */
function trashOf(node: TestNode): string[] {
  const root = path.join(node.folder, '.wizard', 'trash');
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true }) as string[]).map((p) => p.split(path.sep).join('/'));
}

beforeAll(async () => {
  base = tempDir('e2e');
  a = await initNode(base, 'alpha');
  b = await initNode(base, 'beta', a);
  await startDaemon(a);
  await startDaemon(b);
  const paired = await runCli(b.home, ['pair', `127.0.0.1:${a.port}`, '--json']);
  expect(paired.code, paired.stderr).toBe(0);
  expect(JSON.parse(paired.stdout)).toMatchObject({ id: a.id, name: 'alpha', daemonNotified: true });
  await waitConnected(a, b);
});

afterAll(async () => {
  await cleanup(base, [a, b]);
});

describe('two paired daemons', () => {
  it('records each other in their configs after one pair command', () => {
    expect(readFileSync(path.join(a.home, 'config.yaml'), 'utf8')).toContain(b.id);
    expect(readFileSync(path.join(b.home, 'config.yaml'), 'utf8')).toContain(a.id);
  });

  it('syncs a new file from A to B, and an edit on B back to A', async () => {
    writeFileSync(path.join(a.folder, 'hello.txt'), 'hello from alpha\n');
    await waitSameTree(a, b);
    expect(readFileSync(path.join(b.folder, 'hello.txt'), 'utf8')).toBe('hello from alpha\n');

    writeFileSync(path.join(b.folder, 'hello.txt'), 'edited on beta\n');
    await waitFor('the edit to reach alpha', () => readFileSync(path.join(a.folder, 'hello.txt'), 'utf8') === 'edited on beta\n');
    await waitSameTree(a, b);
    // The overwritten version is kept in A's trash.
    expect(trashOf(a).some((p) => p.startsWith('hello.txt~'))).toBe(true);
  });

  it('deletes on the peer, keeping the deleted copy in its trash', async () => {
    writeFileSync(path.join(a.folder, 'doomed.txt'), 'short-lived');
    await waitFor('doomed.txt on beta', () => existsSync(path.join(b.folder, 'doomed.txt')));
    rmSync(path.join(a.folder, 'doomed.txt'));
    await waitFor('doomed.txt gone from beta', () => !existsSync(path.join(b.folder, 'doomed.txt')));
    const trashed = trashOf(b).find((p) => p.startsWith('doomed.txt~'));
    expect(trashed).toBeDefined();
    expect(readFileSync(path.join(b.folder, '.wizard', 'trash', trashed as string), 'utf8')).toBe('short-lived');
  });

  it('syncs a rename, nested dirs, empty dirs and a symlink', async () => {
    mkdirSync(path.join(b.folder, 'deep', 'er', 'est'), { recursive: true });
    mkdirSync(path.join(b.folder, 'empty'));
    writeFileSync(path.join(b.folder, 'deep', 'er', 'est', 'leaf.md'), '# leaf\n');
    writeFileSync(path.join(b.folder, 'before.txt'), 'rename me');
    symlinkSync('deep/er', path.join(b.folder, 'link-to-er'));
    await waitSameTree(a, b);
    renameSync(path.join(b.folder, 'before.txt'), path.join(b.folder, 'deep', 'after.txt'));
    const tree = await waitSameTree(a, b);
    expect(tree).toContain('d empty');
    expect(tree).toContain('l link-to-er deep/er');
    expect(tree.some((l) => l.startsWith('f deep/after.txt '))).toBe(true);
    expect(tree.some((l) => l.startsWith('f before.txt '))).toBe(false);

    rmSync(path.join(a.folder, 'deep'), { recursive: true });
    await waitFor('deep/ gone from beta', () => !existsSync(path.join(b.folder, 'deep')));
    await waitSameTree(a, b);
  });

  it('syncs a 50 MB file intact', async () => {
    const big = randomBytes(50 * 1024 * 1024);
    writeFileSync(path.join(a.folder, 'big.bin'), big);
    await waitFor(
      'big.bin complete on beta',
      () => existsSync(path.join(b.folder, 'big.bin')) && readFileSync(path.join(b.folder, 'big.bin')).equals(big),
      60_000,
      200,
    );
    const status = await a.daemon?.status();
    const sentBefore = status?.peers.find((p) => p.id === b.id)?.bytesSent ?? 0;
    expect(sentBefore).toBeGreaterThan(50 * 1024 * 1024);

    // A rename is a copy of content beta already has: the 50 MB do not cross the wire again.
    mkdirSync(path.join(a.folder, 'moved'));
    renameSync(path.join(a.folder, 'big.bin'), path.join(a.folder, 'moved', 'big.bin'));
    await waitFor('the renamed file on beta', () => existsSync(path.join(b.folder, 'moved', 'big.bin')) && !existsSync(path.join(b.folder, 'big.bin')), 60_000);
    expect(readFileSync(path.join(b.folder, 'moved', 'big.bin')).equals(big)).toBe(true);
    const sentAfter = (await a.daemon?.status())?.peers.find((p) => p.id === b.id)?.bytesSent ?? 0;
    expect(sentAfter - sentBefore).toBeLessThan(1024 * 1024);
  });

  it('reports both folders in sync in status', async () => {
    let last = '';
    await waitFor('both in sync', async () => {
      const [sa, sb] = await Promise.all([a.daemon?.status(), b.daemon?.status()]);
      last = JSON.stringify([sa?.folders, sb?.folders, sa?.errors, sb?.errors]);
      return sa?.folders[0]?.inSync === true && sb?.folders[0]?.inSync === true;
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${last}`);
    });
    const s = await a.daemon?.status();
    expect(s).toMatchObject({ id: a.id, name: 'alpha', errors: [] });
    expect(s?.folders[0]).toMatchObject({ id: 'shared', path: a.folder, inSync: true, pending: 0 });
    expect(s?.folders[0]?.files).toBeGreaterThan(0);
  });

  it('X1: keeps both versions of a file edited on both sides while apart, as a conflict copy', async () => {
    writeFileSync(path.join(a.folder, 'shared-doc.txt'), 'base');
    await waitSameTree(a, b);
    expect(await b.daemon?.stop()).toBe(0);
    writeFileSync(path.join(b.folder, 'shared-doc.txt'), 'edit made on beta');
    writeFileSync(path.join(a.folder, 'shared-doc.txt'), 'edit made on alpha');
    // Alpha's edit is the newer one, so it keeps the name on both machines.
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(a.folder, 'shared-doc.txt'), later, later);
    await startDaemon(b);
    await waitConnected(a, b);
    const tree = await waitFor('a conflict copy on both sides', () => {
      const t = treeOf(a.folder);
      return t.some((l) => l.includes('shared-doc.sync-conflict-')) && JSON.stringify(t) === JSON.stringify(treeOf(b.folder)) ? t : undefined;
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}\nalpha: ${treeOf(a.folder).join(' | ')}\nbeta: ${treeOf(b.folder).join(' | ')}\n${b.daemon?.log.slice(-4000) ?? ''}`);
    });
    const copy = tree.find((l) => l.includes('shared-doc.sync-conflict-'))?.split(' ')[1] as string;
    // Named after the node whose edit it holds, by name and ID (issue 20, item 2).
    expect(copy).toMatch(new RegExp(`^shared-doc\\.sync-conflict-\\d{8}-\\d{6}-beta-${b.id.slice(0, 7)}\\.txt$`));
    expect(readFileSync(path.join(a.folder, 'shared-doc.txt'), 'utf8')).toBe('edit made on alpha');
    expect(readFileSync(path.join(a.folder, copy), 'utf8')).toBe('edit made on beta');
    expect(readFileSync(path.join(b.folder, copy), 'utf8')).toBe('edit made on beta');
    // The node whose edit lost says so in its log, naming both sides.
    const logged = b.daemon?.log.split('\n').find((l) => l.includes('conflict: two machines changed a file at once')) ?? '';
    expect(JSON.parse(logged)).toMatchObject({ level: 40, path: 'shared-doc.txt', copy, fileHolds: "alpha's edit", copyHolds: "this node's edit" });
    // Each side reads whose edit the copy holds without a "mine" that could mean either.
    const onBeta = (await runCli(b.home, ['conflicts'])).stdout;
    expect(onBeta).toMatch(/\n {2}the file: {7}the edit that won, modified .*\n {2}conflict copy: {2}this node's edit \(beta\), which lost; /);
    expect((await runCli(a.home, ['conflicts'])).stdout).toMatch(/\n {2}conflict copy: {2}beta's edit, which lost; /);
    // The other machine's log says the copy arrived, and beta's that it applied alpha's edit (issue 20, item 8).
    await waitFor("alpha's log of the copy", () => a.daemon?.log.includes('"msg":"conflict copy arrived: another machine kept its losing edit beside the file'));
    const applied = b.daemon?.log.split('\n').filter((l) => l.includes('"msg":"applied ')).map((l) => JSON.parse(l) as { paths: string[]; changed: number }) ?? [];
    expect(applied.find((l) => l.paths.includes('shared-doc.txt'))).toMatchObject({ level: 30, changed: 1 });
    // On the machine whose edit lost, --mine keeps that edit (it used to keep the other machine's).
    const kept = await runCli(b.home, ['conflicts', 'keep', 'shared-doc.txt', '--mine', '--folder', 'shared']);
    expect(kept.stdout, kept.stderr).toMatch(/^Kept the conflict copy \(this node's edit \(beta\)\) at shared\/shared-doc\.txt\n/);
    await waitFor("beta's edit in place on alpha, the copy gone", () => readFileSync(path.join(a.folder, 'shared-doc.txt'), 'utf8') === 'edit made on beta' && !existsSync(path.join(a.folder, copy)));
  });

  it('writes no log line with a key twice (a peer-bound logger given the peer again)', () => {
    for (const node of [a, b]) {
      const twice = (node.daemon?.log.split('\n') ?? []).filter((l) => l.startsWith('{')).map((l) => [l, duplicateTopLevelKeys(l)] as const).filter(([, keys]) => keys.length > 0);
      expect(twice.map(([l]) => l)).toEqual([]);
    }
  });

  it('X4: keeps a file created in a dir that the other side deleted meanwhile, and its parent', async () => {
    mkdirSync(path.join(a.folder, 'project'));
    writeFileSync(path.join(a.folder, 'project', 'old.txt'), 'old');
    await waitSameTree(a, b);
    expect(await b.daemon?.stop()).toBe(0);
    rmSync(path.join(a.folder, 'project'), { recursive: true });
    writeFileSync(path.join(b.folder, 'project', 'new-while-apart.txt'), 'new');
    await startDaemon(b);
    await waitConnected(a, b);
    await waitFor('the new file on alpha', () => existsSync(path.join(a.folder, 'project', 'new-while-apart.txt')));
    const tree = await waitSameTree(a, b);
    expect(tree.some((l) => l.startsWith('f project/new-while-apart.txt '))).toBe(true);
    expect(tree.some((l) => l.startsWith('f project/old.txt '))).toBe(false);
  });

  it('reconciles changes made on both sides while one daemon was down', async () => {
    writeFileSync(path.join(a.folder, 'keep.txt'), 'v1');
    writeFileSync(path.join(a.folder, 'gone-while-down.txt'), 'bye');
    writeFileSync(path.join(a.folder, 'edited-while-down.txt'), 'old');
    await waitSameTree(a, b);

    expect(await b.daemon?.stop()).toBe(0);
    // While beta is down: alpha changes and deletes, and beta's disk changes too.
    writeFileSync(path.join(a.folder, 'edited-while-down.txt'), 'new on alpha');
    rmSync(path.join(a.folder, 'gone-while-down.txt'));
    writeFileSync(path.join(a.folder, 'made-on-alpha.txt'), 'alpha');
    writeFileSync(path.join(b.folder, 'made-on-beta-offline.txt'), 'beta');
    rmSync(path.join(b.folder, 'keep.txt'));

    await startDaemon(b);
    await waitConnected(a, b);
    const tree = await waitSameTree(a, b);
    const names = tree.map((l) => l.split(' ')[1]);
    expect(names).toContain('made-on-alpha.txt');
    expect(names).toContain('made-on-beta-offline.txt');
    expect(names).not.toContain('gone-while-down.txt');
    expect(names).not.toContain('keep.txt');
    expect(readFileSync(path.join(b.folder, 'edited-while-down.txt'), 'utf8')).toBe('new on alpha');
  });
});
