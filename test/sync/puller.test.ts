/**
 * The write rule on a real temp dir: the puller never overwrites or deletes
 * what the index has not seen, keeps old content in the trash, and refuses
 * links that point out of the folder.
 */
import { contentHash } from '../../src/core/content-hash.js';
import { pullContext } from '../support/pull-context.js';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { diskFullAfter } from '../support/disk-full.js';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/core/errors.js';
import type { FileEntry, LocalEntry } from '../../src/index/entry.js';
import { IndexStore } from '../../src/index/store.js';
import { applyTake, caseVariant, type PullContext } from '../../src/sync/pull/puller.js';
import type { VersionVector } from '../../src/versions/vector.js';
import { fakePeer } from '../support/peer.js';
import { tempFilesIn } from '../support/temps.js';

let root: string;
let store: IndexStore;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-puller-'));
  mkdirSync(path.join(root, '.wizard'));
  store = IndexStore.open(':memory:');
});

afterEach(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

const sha = contentHash;

/** A peer entry for `content` at `rel`. */
function remoteFile(rel: string, content: string, version: VersionVector = { p: 1 }): FileEntry {
  return { path: rel, type: 'file', size: Buffer.byteLength(content), mtimeMs: 1_700_000_000_000, mode: 0o644, hash: sha(content), target: '', version, deleted: false, sequence: 1 };
}

/** Context whose peer serves `served` (path -> bytes). */
function context(served: Record<string, string>): PullContext {
  return pullContext(root, store, served);
}

/** Records what is on disk at `rel` as the index's view of it. */
function indexDisk(rel: string, version = { me: 1 }): LocalEntry {
  const abs = path.join(root, rel);
  const st = lstatSync(abs);
  const content = readFileSync(abs);
  const [stored] = store.commitLocal('f', [
    { path: rel, type: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, hash: sha(content), target: '', version, deleted: false, inode: st.ino },
  ]);
  return stored as LocalEntry;
}

function trashFiles(): string[] {
  const dir = path.join(root, '.wizard', 'trash');
  return existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]) : [];
}

describe('applyTake', () => {
  it('writes a new file with the peer mtime and records it', async () => {
    const entry = remoteFile('a/new.txt', 'fresh');
    await applyTake(context({ 'a/new.txt': 'fresh' }), entry, entry.version, ['peer']);
    expect(readFileSync(path.join(root, 'a/new.txt'), 'utf8')).toBe('fresh');
    expect(Math.round(lstatSync(path.join(root, 'a/new.txt')).mtimeMs)).toBe(entry.mtimeMs);
    expect(store.getLocal('f', 'a/new.txt')).toMatchObject({ hash: entry.hash, version: { p: 1 } });
    expect(readdirSync(path.join(root, 'a'))).toEqual(['new.txt']);
  });

  it('copies content it already has under another name instead of fetching it (a rename on a peer)', async () => {
    writeFileSync(path.join(root, 'old-name.txt'), 'same bytes');
    indexDisk('old-name.txt');
    const entry = remoteFile('new-name.txt', 'same bytes');
    const offline: PullContext = {
      ...context({}),
      readBlock: () => Promise.reject(new Error('the network must not be used')),
      findByHash: (hash) => store.localWithHash('f', hash),
    };
    await applyTake(offline, entry, entry.version, ['peer']);
    expect(readFileSync(path.join(root, 'new-name.txt'), 'utf8')).toBe('same bytes');
    expect(readFileSync(path.join(root, 'old-name.txt'), 'utf8')).toBe('same bytes');
  });

  it('replaces an indexed file and keeps the old content in the trash', async () => {
    writeFileSync(path.join(root, 'doc.txt'), 'old');
    indexDisk('doc.txt');
    const entry = remoteFile('doc.txt', 'new', { me: 1, p: 1 });
    await applyTake(context({ 'doc.txt': 'new' }), entry, entry.version, ['peer']);
    expect(readFileSync(path.join(root, 'doc.txt'), 'utf8')).toBe('new');
    const [trashed] = trashFiles();
    expect(trashed).toMatch(/^doc\.txt~\d{8}-\d{6}-\d{3}$/);
    expect(readFileSync(path.join(root, '.wizard', 'trash', trashed as string), 'utf8')).toBe('old');
  });

  it('keeps a losing concurrent version as a conflict copy instead of trashing it', async () => {
    writeFileSync(path.join(root, 'doc.txt'), 'my concurrent edit');
    indexDisk('doc.txt');
    const created: string[] = [];
    const entry = remoteFile('doc.txt', 'their winning edit', { me: 1, p: 2 });
    await applyTake({ ...context({ 'doc.txt': 'their winning edit' }), created: (rel) => created.push(rel) }, entry, { me: 1, p: 2 }, ['peer'], {
      keepLocalAs: 'doc.sync-conflict-20261125-090000-abcdef1.txt',
    });
    expect(readFileSync(path.join(root, 'doc.txt'), 'utf8')).toBe('their winning edit');
    expect(readFileSync(path.join(root, 'doc.sync-conflict-20261125-090000-abcdef1.txt'), 'utf8')).toBe('my concurrent edit');
    expect(created).toEqual(['doc.sync-conflict-20261125-090000-abcdef1.txt']);
    expect(trashFiles()).toEqual([]);
  });

  it('does not overwrite a file changed on disk since the index saw it', async () => {
    writeFileSync(path.join(root, 'doc.txt'), 'old');
    indexDisk('doc.txt');
    writeFileSync(path.join(root, 'doc.txt'), 'edited locally, not yet scanned');
    const entry = remoteFile('doc.txt', 'new', { me: 1, p: 1 });
    const err: unknown = await applyTake(context({ 'doc.txt': 'new' }), entry, entry.version, ['peer']).catch((e: unknown) => e);
    expect(hasCode(err, 'CHANGED')).toBe(true);
    expect(readFileSync(path.join(root, 'doc.txt'), 'utf8')).toBe('edited locally, not yet scanned');
    expect(tempFilesIn(root)).toEqual([]);
  });

  it('refuses to act on a decision made before the index recorded a local edit', async () => {
    writeFileSync(path.join(root, 'doc.txt'), 'v1');
    const decidedOn = indexDisk('doc.txt').sequence;
    // A scan records a local edit after the decision was made, before it is carried out.
    writeFileSync(path.join(root, 'doc.txt'), 'v2, edited locally');
    indexDisk('doc.txt', { me: 2 });
    const entry = remoteFile('doc.txt', 'theirs', { me: 1, p: 1 });
    const err: unknown = await applyTake(context({ 'doc.txt': 'theirs' }), entry, entry.version, ['peer'], { basedOn: decidedOn }).catch((e: unknown) => e);
    expect(hasCode(err, 'CHANGED')).toBe(true);
    expect(readFileSync(path.join(root, 'doc.txt'), 'utf8')).toBe('v2, edited locally');
  });

  it('does not overwrite a file the index has never seen', async () => {
    writeFileSync(path.join(root, 'mine.txt'), 'unscanned');
    const entry = remoteFile('mine.txt', 'theirs');
    const err: unknown = await applyTake(context({ 'mine.txt': 'theirs' }), entry, entry.version, ['peer']).catch((e: unknown) => e);
    expect(hasCode(err, 'CHANGED')).toBe(true);
    expect(readFileSync(path.join(root, 'mine.txt'), 'utf8')).toBe('unscanned');
  });

  it('F8: rejects content that does not match the announced hash and leaves no temp file', async () => {
    const entry = remoteFile('x.bin', 'expected');
    const err: unknown = await applyTake(context({ 'x.bin': 'tampered' }), entry, entry.version, ['peer']).catch((e: unknown) => e);
    expect(hasCode(err, 'HASH_MISMATCH')).toBe(true);
    expect(readdirSync(root).sort()).toEqual(['.wizard']);
  });

  it('S1: ENOSPC while writing the temp file removes it, renames nothing, says so in one line, and the retry succeeds once space frees', async () => {
    const oldContent = Buffer.alloc(600 * 1024, 1);
    const newContent = Buffer.concat([Buffer.alloc(300 * 1024, 2), Buffer.alloc(300 * 1024, 3)]);
    writeFileSync(path.join(root, 'big.bin'), oldContent);
    const before = indexDisk('big.bin');
    const entry: FileEntry = { ...remoteFile('big.bin', ''), size: newContent.length, hash: sha(newContent), version: { me: 1, p: 1 } };
    // Room for part of the file: an attempt that wrote blocks, which a partial download would otherwise keep for resuming.
    const disk = diskFullAfter(300 * 1024);
    const peer = fakePeer({ 'big.bin': newContent });
    const ctx: PullContext = { ...context({}), readBlock: peer.readBlock, readSums: peer.readSums, openTemp: disk.openTemp };

    const err: unknown = await applyTake(ctx, entry, entry.version, ['peer']).catch((e: unknown) => e);
    expect(hasCode(err, 'NO_SPACE'), String(err)).toBe(true);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/no space left.*ENOSPC.*free some space.*retried/);
    // Nothing was renamed: the user's file and the index are as they were, and the temp file is gone.
    expect(readFileSync(path.join(root, 'big.bin')).equals(oldContent)).toBe(true);
    expect(store.getLocal('f', 'big.bin')).toEqual(before);
    expect(tempFilesIn(root)).toEqual([]);
    expect(trashFiles()).toEqual([]);

    disk.freed();
    await applyTake(ctx, entry, entry.version, ['peer']);
    expect(readFileSync(path.join(root, 'big.bin')).equals(newContent)).toBe(true);
    expect(store.getLocal('f', 'big.bin')).toMatchObject({ hash: entry.hash, version: entry.version });
    expect(tempFilesIn(root)).toEqual([]);
  });

  it('deletes into the trash, and not a file that changed since it was indexed', async () => {
    writeFileSync(path.join(root, 'bye.txt'), 'contents');
    const local = indexDisk('bye.txt');
    writeFileSync(path.join(root, 'bye.txt'), 'changed!');
    const tombstone: FileEntry = { ...local, size: 0, hash: '', deleted: true, version: { me: 1, p: 1 } };
    const err: unknown = await applyTake(context({}), tombstone, tombstone.version, []).catch((e: unknown) => e);
    expect(hasCode(err, 'CHANGED')).toBe(true);
    expect(existsSync(path.join(root, 'bye.txt'))).toBe(true);

    indexDisk('bye.txt');
    await applyTake(context({}), tombstone, tombstone.version, []);
    expect(existsSync(path.join(root, 'bye.txt'))).toBe(false);
    expect(trashFiles().some((p) => p.startsWith('bye.txt~'))).toBe(true);
    expect(store.getLocal('f', 'bye.txt')?.deleted).toBe(true);
  });

  it('deletes a dir that holds only a left-over partial download, but not one with a file of the user', async () => {
    mkdirSync(path.join(root, 'd'));
    const [dirEntry] = store.commitLocal('f', [
      { path: 'd', type: 'dir', size: 0, mtimeMs: 1, mode: 0o755, hash: '', target: '', version: { me: 1 }, deleted: false, inode: lstatSync(path.join(root, 'd')).ino },
    ]);
    writeFileSync(path.join(root, 'd', '.~wizard-big.bin-0123456789abcdef-01234567.tmp'), 'partial');
    const tombstone: FileEntry = { ...(dirEntry as LocalEntry), deleted: true, version: { me: 1, p: 1 } };
    await applyTake(context({}), tombstone, tombstone.version, []);
    expect(existsSync(path.join(root, 'd'))).toBe(false);

    mkdirSync(path.join(root, 'e'));
    const [eEntry] = store.commitLocal('f', [
      { path: 'e', type: 'dir', size: 0, mtimeMs: 1, mode: 0o755, hash: '', target: '', version: { me: 1 }, deleted: false, inode: lstatSync(path.join(root, 'e')).ino },
    ]);
    writeFileSync(path.join(root, 'e', 'new-here.txt'), 'mine');
    const eGone: FileEntry = { ...(eEntry as LocalEntry), deleted: true, version: { me: 1, p: 1 } };
    const err: unknown = await applyTake(context({}), eGone, eGone.version, []).catch((e: unknown) => e);
    expect(hasCode(err, 'CHANGED')).toBe(true);
    expect(readFileSync(path.join(root, 'e', 'new-here.txt'), 'utf8')).toBe('mine');
  });

  it('P5: refuses symlinks that point outside the folder', async () => {
    const link: FileEntry = { ...remoteFile('evil', ''), type: 'symlink', size: 0, hash: '', target: '../../etc' };
    const err: unknown = await applyTake(context({}), link, link.version, []).catch((e: unknown) => e);
    expect(hasCode(err, 'BAD_PATH')).toBe(true);
    expect(existsSync(path.join(root, 'evil'))).toBe(false);
  });
});

describe('symlinks in the way', () => {
  it('P4: never writes through a symlinked dir, even one whose target text looks harmless', async () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'wizard-outside-'));
    try {
      symlinkSync(outside, path.join(root, 'escape'));
      const entry = remoteFile('escape/evil.sh', 'pwned');
      const err: unknown = await applyTake(context({ 'escape/evil.sh': 'pwned' }), entry, entry.version, ['peer']).catch((e: unknown) => e);
      expect(hasCode(err, 'BAD_PATH')).toBe(true);
      expect(readdirSync(outside)).toEqual([]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('P4: composed links (a/b -> .., c -> a/b/..) cannot lead a write out of the root', async () => {
    const ctx = context({ 'c/victim.txt': 'pwned' });
    mkdirSync(path.join(root, 'a'));
    const link = (p: string, target: string): FileEntry => ({ ...remoteFile(p, ''), type: 'symlink', size: 0, hash: '', target });
    await applyTake(ctx, link('a/b', '..'), { p: 1 }, []).catch(() => undefined);
    await applyTake(ctx, link('c', 'a/b/..'), { p: 1 }, []).catch(() => undefined);
    const entry = remoteFile('c/victim.txt', 'pwned');
    await applyTake(ctx, entry, entry.version, ['peer']).catch(() => undefined);
    expect(existsSync(path.join(root, '..', 'victim.txt'))).toBe(false);
  });
});

describe('P9: caseVariant (case-only clashes on case-insensitive filesystems)', () => {
  it.each([
    [['notes.txt', 'other'], 'Notes.txt', 'notes.txt'],
    [['Notes.txt', 'notes.txt'], 'Notes.txt', undefined],
    [['a.txt'], 'b.txt', undefined],
    [['ÉTÉ.md'], 'été.md', 'ÉTÉ.md'],
  ])('%j has a case variant of %s: %s', (names, name, expected) => {
    expect(caseVariant(names, name)).toBe(expected);
  });
});

describe('names that are not NFC on disk (issue 15, item 12)', () => {
  const nfd = 'd/cafe\u0301.txt';
  const nfc = nfd.normalize('NFC');

  /** Records the NFD file as a scan would: under its NFC path, with its name on disk. */
  function indexNfd(): void {
    const st = lstatSync(path.join(root, nfd));
    store.commitLocal('f', [
      { path: nfc, type: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, hash: sha(readFileSync(path.join(root, nfd))), target: '', version: { me: 1 }, deleted: false, inode: st.ino, diskName: 'cafe\u0301.txt' },
    ]);
  }

  it('writes a newer version over the file under its NFD name, keeps the old one in the trash, and the name stays recorded', async () => {
    mkdirSync(path.join(root, 'd'));
    writeFileSync(path.join(root, nfd), 'old');
    indexNfd();
    const entry = remoteFile(nfc, 'new from the peer', { me: 1, p: 1 });
    const ctx: PullContext = { ...context({ [nfc]: 'new from the peer' }), onDisk: (rel) => (rel === nfc ? nfd : rel) };
    await applyTake(ctx, entry, entry.version, ['peer']);
    expect(readdirSync(path.join(root, 'd'))).toEqual(['cafe\u0301.txt']);
    expect(readFileSync(path.join(root, nfd), 'utf8')).toBe('new from the peer');
    expect(store.getLocal('f', nfc)).toMatchObject({ hash: entry.hash, diskName: 'cafe\u0301.txt' });
    expect(trashFiles().map((t) => t.normalize('NFC'))).toContainEqual(expect.stringMatching(/^d\/café\.txt~/));
  });

  it('deletes the file under its NFD name', async () => {
    mkdirSync(path.join(root, 'd'));
    writeFileSync(path.join(root, nfd), 'old');
    indexNfd();
    const ctx: PullContext = { ...context({}), onDisk: (rel) => (rel === nfc ? nfd : rel) };
    await applyTake(ctx, { ...remoteFile(nfc, ''), deleted: true, size: 0, hash: '' }, { me: 1, p: 1 }, ['peer']);
    expect(readdirSync(path.join(root, 'd'))).toEqual([]);
    expect(store.getLocal('f', nfc)).toMatchObject({ deleted: true });
    expect(store.getLocal('f', nfc)?.diskName).toBeUndefined();
  });

  it('does not write a new file beside an unscanned file with the same name in NFD: the disk changed, rescan first', async () => {
    mkdirSync(path.join(root, 'd'));
    writeFileSync(path.join(root, nfd), 'written on a Mac, not yet scanned');
    const entry = remoteFile(nfc, 'from the peer');
    const err: unknown = await applyTake(context({ [nfc]: 'from the peer' }), entry, entry.version, ['peer']).catch((e: unknown) => e);
    expect(hasCode(err, 'CHANGED')).toBe(true);
    expect(readdirSync(path.join(root, 'd'))).toEqual(['cafe\u0301.txt']);
  });
});

describe("6: a peer's permission bits go through this node's umask", () => {
  const modeOf = (rel: string) => lstatSync(path.join(root, rel)).mode & 0o7777;

  it.each([
    { description: 'a world-writable file loses group and other write (umask 022), keeps exec', type: 'file', peer: 0o777, umask: 0o022, disk: 0o755 },
    { description: 'setuid and setgid are never applied', type: 'file', peer: 0o6777, umask: 0o022, disk: 0o755 },
    { description: 'a plain file asked world-writable', type: 'file', peer: 0o666, umask: 0o022, disk: 0o644 },
    { description: 'umask 077: owner only, exec kept for the owner', type: 'file', peer: 0o777, umask: 0o077, disk: 0o700 },
    { description: 'umask 002 allows group write', type: 'file', peer: 0o664, umask: 0o002, disk: 0o664 },
    { description: 'a read-only file stays writable by its owner', type: 'file', peer: 0o444, umask: 0o022, disk: 0o644 },
    { description: 'a sticky world-writable dir', type: 'dir', peer: 0o1777, umask: 0o022, disk: 0o755 },
    { description: 'a dir under umask 077', type: 'dir', peer: 0o777, umask: 0o077, disk: 0o700 },
    { description: 'a dir the owner could not enter', type: 'dir', peer: 0o055, umask: 0o022, disk: 0o755 },
  ] as const)('$description', async ({ type, peer, umask, disk }) => {
    const ctx = pullContext(root, store, { 'x/p': 'content' }, { umask });
    const entry: FileEntry = type === 'file' ? { ...remoteFile('x/p', 'content'), mode: peer } : { ...remoteFile('x/p', ''), type: 'dir', size: 0, hash: '', mode: peer };
    await applyTake(ctx, entry, entry.version, ['peer']);
    expect(modeOf('x/p').toString(8)).toBe(disk.toString(8));
    // The index holds what the disk holds: a scan finds no mode change to send back.
    expect(store.getLocal('f', 'x/p')?.mode).toBe(disk);
  });

  it('the same bytes already here: only mode and mtime move, through the umask', async () => {
    writeFileSync(path.join(root, 'same.txt'), 'same');
    indexDisk('same.txt');
    const entry = { ...remoteFile('same.txt', 'same', { me: 1, p: 1 }), mode: 0o777 };
    await applyTake(context({}), entry, entry.version, []);
    expect(modeOf('same.txt').toString(8)).toBe('755');
    expect(store.getLocal('f', 'same.txt')).toMatchObject({ mode: 0o755, version: { me: 1, p: 1 } });
  });
});
