import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { EMPTY_DIGEST_HEX, digestOf, entryDigest } from '../../src/index/digest.js';
import type { FileEntry } from '../../src/index/entry.js';
import { SCHEMA_VERSION } from '../../src/index/schema.js';
import { IndexStore, type LocalChange } from '../../src/index/store.js';
import type { VersionVector } from '../../src/versions/vector.js';

const FOLDER = 'docs';
const PEER = 'peer-b';

let dir: string;
let dbFile: string;
let open: IndexStore[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wizard-store-'));
  dbFile = path.join(dir, 'index.db');
  open = [];
});

afterEach(() => {
  for (const store of open) store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Opens a store on the test's database file (or `file`) and closes it after the test. */
function openStore(file = dbFile): IndexStore {
  const store = IndexStore.open(file);
  open.push(store);
  return store;
}

/** A local change: a 10-byte file at `version` unless `extra` says otherwise. */
function change(p: string, version: VersionVector, extra: Partial<LocalChange> = {}): LocalChange {
  return {
    path: p,
    type: 'file',
    size: 10,
    mtimeMs: 1_700_000_000_000.25,
    mode: 0o644,
    hash: 'ab'.repeat(32),
    target: '',
    version,
    deleted: false,
    inode: 42,
    ...extra,
  };
}

/** A tombstone for `p` at `version`. */
function tombstone(p: string, version: VersionVector): LocalChange {
  return change(p, version, { deleted: true, size: 0, hash: '' });
}

/** A peer's entry: like `change`, with the peer's sequence and no inode. */
function remote(p: string, version: VersionVector, sequence: number, extra: Partial<FileEntry> = {}): FileEntry {
  const { inode: _inode, ...entry } = change(p, version);
  return { ...entry, sequence, ...extra };
}

const v1 = { aaaa: 1 };
const v2 = { aaaa: 2 };
const v1b1 = { aaaa: 1, bbbb: 1 };

describe('entryDigest', () => {
  it('is the first 16 bytes of SHA-256 over path, canonical version and tombstone flag', () => {
    const expected = createHash('sha256').update('a/b.txt\0aaaa:1,bbbb:2\x001', 'utf8').digest().subarray(0, 16);
    expect(entryDigest('a/b.txt', { bbbb: 2, aaaa: 1 }, true).equals(expected)).toBe(true);
  });
});

describe('IndexStore', () => {
  it('starts a folder empty, with a 16-hex index ID, and migrates to the current schema', () => {
    const store = openStore();
    const state = store.folderState(FOLDER);
    expect(state.indexId).toMatch(/^[0-9a-f]{16}$/);
    expect(state).toMatchObject({ maxSequence: 0, digest: EMPTY_DIGEST_HEX });
    expect(store.folderState(FOLDER)).toEqual(state);
    store.close();
    open = [];
    const raw = new Database(dbFile, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('migrates a schema 3 index (before names on disk were recorded): its entries keep their NFC names, and a name on disk can be recorded', () => {
    const first = openStore();
    first.commitLocal(FOLDER, [change('a', v1), change('caf\u00e9', v1)]);
    first.close();
    open = [];
    const raw = new Database(dbFile);
    raw.exec('DROP INDEX local_disk_names');
    raw.exec('DROP INDEX local_by_hash_prefix');
    raw.exec("CREATE INDEX local_by_hash ON local (folder, hash) WHERE deleted = 0 AND type = 'file'");
    raw.exec('ALTER TABLE local DROP COLUMN disk_name');
    raw.exec('DROP TABLE stale_hashes');
    raw.exec('ALTER TABLE block_sums DROP COLUMN leaves');
    raw.pragma('user_version = 3');
    raw.close();

    const store = openStore();
    expect(store.getLocal(FOLDER, 'caf\u00e9')).toEqual({ ...change('caf\u00e9', v1), sequence: 2 });
    expect(store.localDiskNames(FOLDER)).toEqual([]);
    store.commitLocal(FOLDER, [change('caf\u00e9', v2, { diskName: 'cafe\u0301' })]);
    expect(store.localDiskNames(FOLDER)).toEqual([['caf\u00e9', 'cafe\u0301']]);
    const check = new Database(dbFile, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    check.close();
  });

  it('finds a live file by its content: the whole hash must match, not only the 8 digits the index is keyed on', () => {
    const store = openStore();
    const hash = `1234abcd${'e'.repeat(56)}`;
    const twin = `1234abcd${'f'.repeat(56)}`;
    store.commitLocal(FOLDER, [change('gone', v1, { hash }), change('other', v1, { hash: twin })]);
    store.commitLocal(FOLDER, [tombstone('gone', v2)]);
    expect(store.localWithHash(FOLDER, hash)).toBeUndefined();
    store.commitLocal(FOLDER, [change('here', v1, { hash })]);
    expect(store.localWithHash(FOLDER, hash)?.path).toBe('here');
    expect(store.localWithHash(FOLDER, twin)?.path).toBe('other');
    expect(store.localWithHash(FOLDER, `1234abcd${'0'.repeat(56)}`)).toBeUndefined();
  });

  it('migrates a schema 5 index (keyed on the whole hash) to the prefix index: files are still found by content', () => {
    const first = openStore();
    first.commitLocal(FOLDER, [change('a', v1, { hash: 'cd'.repeat(32) })]);
    first.close();
    open = [];
    const raw = new Database(dbFile);
    raw.exec('DROP INDEX local_by_hash_prefix');
    raw.exec("CREATE INDEX local_by_hash ON local (folder, hash) WHERE deleted = 0 AND type = 'file'");
    raw.pragma('user_version = 5');
    raw.close();

    const store = openStore();
    expect(store.localWithHash(FOLDER, 'cd'.repeat(32))?.path).toBe('a');
    const check = new Database(dbFile, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const indexes = (check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'local'").all() as Array<{ name: string }>).map((r) => r.name);
    expect(indexes).toContain('local_by_hash_prefix');
    expect(indexes).not.toContain('local_by_hash');
    check.close();
  });

  it('records a name that is not NFC on disk, keeps it through a change that does not say, and drops it with the file', () => {
    const store = openStore();
    const nfc = 'd/caf\u00e9.txt';
    const [stored] = store.commitLocal(FOLDER, [change(nfc, v1, { diskName: 'cafe\u0301.txt' })]);
    expect(stored?.diskName).toBe('cafe\u0301.txt');
    expect(store.getLocal(FOLDER, nfc)?.diskName).toBe('cafe\u0301.txt');
    // A pull writes over the file under the name it has: its change says nothing of the name.
    store.commitLocal(FOLDER, [change(nfc, v2)]);
    expect(store.getLocal(FOLDER, nfc)?.diskName).toBe('cafe\u0301.txt');
    expect(store.localDiskNames(FOLDER)).toEqual([[nfc, 'cafe\u0301.txt']]);
    // Renamed to its NFC spelling: a scan says so.
    store.commitLocal(FOLDER, [change(nfc, v2, { diskName: '' })]);
    expect(store.getLocal(FOLDER, nfc)?.diskName).toBeUndefined();
    store.commitLocal(FOLDER, [change(nfc, v2, { diskName: 'cafe\u0301.txt' }), tombstone(nfc, { aaaa: 3 })]);
    expect(store.getLocal(FOLDER, nfc)?.diskName).toBeUndefined();
    // A file made again after the deletion is a new one, under its NFC name unless a scan says otherwise.
    store.commitLocal(FOLDER, [change(nfc, { aaaa: 4 })]);
    expect(store.getLocal(FOLDER, nfc)?.diskName).toBeUndefined();
    expect(store.localDiskNames(FOLDER)).toEqual([]);
  });

  it('refuses a database from a newer schema', () => {
    const raw = new Database(dbFile);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => IndexStore.open(dbFile)).toThrow(/newer Wizard/);
  });

  it('assigns increasing sequences and keeps them across close and reopen', () => {
    const store = openStore();
    const first = store.commitLocal(FOLDER, [change('a', v1), change('b', v1)]);
    expect(first.map((e) => e.sequence)).toEqual([1, 2]);
    expect(store.commitLocal(FOLDER, [])).toEqual([]);
    const second = store.commitLocal(FOLDER, [change('a', v2)]);
    expect(second.map((e) => e.sequence)).toEqual([3]);
    const before = store.folderState(FOLDER);
    store.close();
    open = [];

    const reopened = openStore();
    expect(reopened.folderState(FOLDER)).toEqual(before);
    expect(reopened.getLocal(FOLDER, 'a')).toEqual({ ...change('a', v2), sequence: 3 });
    expect(reopened.commitLocal(FOLDER, [change('c', v1)])[0]?.sequence).toBe(4);
  });

  it('round-trips every field, including sub-millisecond mtimes and symlinks', () => {
    const store = openStore();
    const link = change('ln', v1b1, { type: 'symlink', size: 0, hash: '', target: '../x y', mtimeMs: 1.0625, mode: 0o777 });
    const [stored] = store.commitLocal(FOLDER, [link]);
    expect(store.getLocal(FOLDER, 'ln')).toEqual(stored);
    expect(store.getLocal(FOLDER, 'missing')).toBeUndefined();
  });

  it('keeps the digest equal to the XOR over all entries through inserts, updates, tombstones and forgets', () => {
    const store = openStore();
    const steps: LocalChange[][] = [
      [change('a', v1), change('b', v1), change('c/d', v1)],
      [change('a', v2)],
      [tombstone('b', v2)],
      [change('b', { aaaa: 3 }), change('e', v1b1)],
      [change('e', { aaaa: 2, bbbb: 1 }), change('e', { aaaa: 3, bbbb: 1 })],
    ];
    for (const batch of steps) {
      store.commitLocal(FOLDER, batch);
      expect(store.folderState(FOLDER).digest).toBe(digestOf(store.allLocal(FOLDER)));
    }
    const sequenceBefore = store.folderState(FOLDER).maxSequence;
    store.forgetLocal(FOLDER, ['b', 'not-there']);
    expect(store.getLocal(FOLDER, 'b')).toBeUndefined();
    expect(store.folderState(FOLDER)).toMatchObject({
      maxSequence: sequenceBefore,
      digest: digestOf(store.allLocal(FOLDER)),
    });
    store.forgetLocal(FOLDER, ['a', 'c/d', 'e']);
    expect(store.folderState(FOLDER).digest).toBe(EMPTY_DIGEST_HEX);
  });

  it('gives equal digests to stores that reached the same entries in different orders', () => {
    const one = openStore(path.join(dir, 'one.db'));
    const two = openStore(path.join(dir, 'two.db'));
    one.commitLocal(FOLDER, [change('a', v1), change('b', v1), change('c', v1)]);
    one.commitLocal(FOLDER, [change('a', v2), tombstone('c', v2)]);
    two.commitLocal(FOLDER, [tombstone('c', v2)]);
    two.commitLocal(FOLDER, [change('b', v1), change('a', v2)]);
    expect(one.folderState(FOLDER).maxSequence).not.toBe(two.folderState(FOLDER).maxSequence);
    expect(one.folderState(FOLDER).digest).toBe(two.folderState(FOLDER).digest);
    expect(one.folderState(FOLDER).digest).not.toBe(EMPTY_DIGEST_HEX);
  });

  it('pages through changes with localSince', () => {
    const store = openStore();
    store.commitLocal(FOLDER, ['a', 'b', 'c', 'd', 'e'].map((p) => change(p, v1)));
    store.commitLocal(FOLDER, [change('b', v2)]);
    const seen: string[] = [];
    let after = 0;
    for (;;) {
      const page = store.localSince(FOLDER, after, 2);
      if (page.length === 0) break;
      expect(page.length).toBeLessThanOrEqual(2);
      seen.push(...page.map((e) => `${e.path}@${e.sequence}`));
      after = page[page.length - 1]?.sequence ?? after;
    }
    expect(seen).toEqual(['a@1', 'c@3', 'd@4', 'e@5', 'b@6']);
    expect(store.localSince(FOLDER, 6, 10)).toEqual([]);
  });

  describe('localUnder', () => {
    const paths = ['a', 'a/b', 'a/b c', 'a/b-c', 'a/b.txt', 'a/b/c', 'a/b/d/e', 'a/b0', 'a/bc', 'b', '%', '%/x', '%x', '_', '_/y', 'ab'];
    const cases: Array<{ desc: string; dir: string; want: string[] }> = [
      { desc: 'the dir itself and what is below it, not siblings sharing a prefix', dir: 'a/b', want: ['a/b', 'a/b/c', 'a/b/d/e'] },
      { desc: 'a deeper dir', dir: 'a/b/d', want: ['a/b/d/e'] },
      { desc: 'a top-level dir, not "ab"', dir: 'a', want: paths.filter((p) => p === 'a' || p.startsWith('a/')).sort() },
      { desc: "'%' is a plain character, not a wildcard", dir: '%', want: ['%', '%/x'] },
      { desc: "'_' is a plain character, not a wildcard", dir: '_', want: ['_', '_/y'] },
      { desc: 'a file path gives just the file', dir: 'a/b.txt', want: ['a/b.txt'] },
      { desc: 'a path with no entries gives nothing', dir: 'zzz', want: [] },
      { desc: "'' gives the whole folder", dir: '', want: [...paths].sort() },
    ];
    it.each(cases)('$desc', ({ dir: under, want }) => {
      const store = openStore();
      store.commitLocal(FOLDER, paths.map((p) => change(p, v1)));
      store.commitLocal('other', [change('a/b/c', v1)]);
      expect(store.localUnder(FOLDER, under).map((e) => e.path)).toEqual(want);
    });
  });

  it('counts live files, dirs, bytes, tombstones and conflict copies', () => {
    const store = openStore();
    store.commitLocal(FOLDER, [
      change('f1', v1, { size: 100 }),
      change('f2', v1, { size: 23 }),
      change('d', v1, { type: 'dir', size: 0, hash: '' }),
      change('ln', v1, { type: 'symlink', size: 0, hash: '', target: 'f1' }),
      tombstone('gone', v2),
      change('f1.sync-conflict-20261207-010203-laptop-abcdef1', v1, { size: 1 }),
      change('d.sync-conflict-x/plain', v1, { size: 1 }),
      tombstone('old.sync-conflict-20261207-010203-abcdef1', v2),
    ]);
    expect(store.localStats(FOLDER)).toEqual({ files: 5, dirs: 1, bytes: 125, tombstones: 2, conflicts: 1 });
    expect(store.localStats('empty')).toEqual({ files: 0, dirs: 0, bytes: 0, tombstones: 0, conflicts: 0 });
  });

  it('keeps its counts equal to a fresh count through updates, tombstones, forgets and a reset', () => {
    const store = openStore();
    const fresh = (): unknown => {
      const other = IndexStore.open(dbFile);
      try {
        return other.localStats(FOLDER);
      } finally {
        other.close();
      }
    };
    expect(store.localStats(FOLDER)).toEqual(fresh());
    const steps: Array<() => void> = [
      () => store.commitLocal(FOLDER, [change('a', v1, { size: 10 }), change('d', v1, { type: 'dir', size: 0, hash: '' })]),
      () => store.commitLocal(FOLDER, [change('a', v2, { size: 7 }), change('b', v1, { size: 5 })]),
      () => store.commitLocal(FOLDER, [tombstone('a', { aaaa: 3 }), change('b', v2, { size: 6 }), change('b', { aaaa: 3 }, { size: 9 })]),
      () => store.forgetLocal(FOLDER, ['a', 'nothing']),
      () => store.commitLocal(FOLDER, [change('d', v2, { type: 'dir', size: 0, hash: '' })]),
      () => store.commitLocal(FOLDER, [change('b.sync-conflict-20261207-010203-abcdef1', v1, { size: 2 }), change('x.sync-conflict-y/z', v1, { size: 2 })]),
      () => store.commitLocal(FOLDER, [tombstone('b.sync-conflict-20261207-010203-abcdef1', v2)]),
      () => store.commitLocal(FOLDER, [change('b.sync-conflict-20261207-010203-abcdef1', { aaaa: 4 }, { size: 2 })]),
      () => store.resetFolder(FOLDER),
      () => store.commitLocal(FOLDER, [change('c', v1, { size: 4 })]),
    ];
    for (const step of steps) {
      step();
      expect(store.localStats(FOLDER)).toEqual(fresh());
    }
    expect(store.localStats(FOLDER)).toEqual({ files: 1, dirs: 0, bytes: 4, tombstones: 0, conflicts: 0 });
  });

  it('atomically: entries and block sums written together roll back together, and the counts stay true', () => {
    const store = openStore();
    store.commitLocal(FOLDER, [change('kept', v1, { size: 3 })]);
    // Counted now, so the writes below adjust the cached counts.
    expect(store.localStats(FOLDER)).toEqual({ files: 1, dirs: 0, bytes: 3, tombstones: 0, conflicts: 0 });
    const sig = { blockSize: 1024, fileSize: 2048, weak: new Uint32Array([1, 2]), strong: new Uint8Array(32) };
    expect(() =>
      store.atomically(() => {
        store.commitLocal(FOLDER, [change('lost', v1, { size: 2048 })]);
        store.sums.put(FOLDER, 'lost', 'h', sig);
        throw new Error('SQLITE_FULL');
      }),
    ).toThrow('SQLITE_FULL');
    expect(store.getLocal(FOLDER, 'lost')).toBeUndefined();
    expect(store.sums.get(FOLDER, 'lost', 'h')).toBeUndefined();
    expect(store.localStats(FOLDER)).toEqual({ files: 1, dirs: 0, bytes: 3, tombstones: 0, conflicts: 0 });
    store.atomically(() => {
      store.commitLocal(FOLDER, [change('saved', v1, { size: 2048 })]);
      store.sums.put(FOLDER, 'saved', 'h', sig);
    });
    expect(store.getLocal(FOLDER, 'saved')).toBeDefined();
    expect(store.sums.get(FOLDER, 'saved', 'h')?.weak).toEqual(new Uint32Array([1, 2]));
  });

  it('applyRemote names only the entries at a version other than ours (the rest cannot need a pull)', () => {
    const store = openStore();
    store.commitLocal(FOLDER, [change('same', v1, { size: 3 }), change('older', v1, { size: 3 }), tombstone('gone', v2)]);
    const differing = store.applyRemote(
      FOLDER,
      PEER,
      'idx1',
      [remote('same', v1, 1), remote('older', v2, 2), remote('new', v1, 3), remote('gone', v2, 4, { deleted: true, size: 0, hash: '' })],
      false,
    );
    expect(differing).toEqual(['older', 'new']);
  });

  it('applies remote entries incrementally and with reset', () => {
    const store = openStore();
    expect(store.peerState(FOLDER, PEER)).toEqual({ indexId: '', sequence: 0 });

    store.applyRemote(FOLDER, PEER, 'idx1', [remote('a', v1, 5), remote('b', v1, 7)], false);
    expect(store.peerState(FOLDER, PEER)).toEqual({ indexId: 'idx1', sequence: 7 });
    expect(store.getRemote(FOLDER, PEER, 'a')).toEqual(remote('a', v1, 5));

    store.applyRemote(FOLDER, PEER, 'idx1', [remote('a', v2, 6)], false);
    expect(store.peerState(FOLDER, PEER).sequence).toBe(7);
    expect(store.getRemote(FOLDER, PEER, 'a')?.version).toEqual(v2);
    expect(store.getRemote(FOLDER, PEER, 'b')).toBeDefined();

    store.applyRemote(FOLDER, 'peer-c', 'idxC', [remote('a', v1b1, 1)], false);
    expect(store.remotesFor(FOLDER, 'a')).toEqual([
      { peer: PEER, entry: remote('a', v2, 6) },
      { peer: 'peer-c', entry: remote('a', v1b1, 1) },
    ]);

    store.applyRemote(FOLDER, PEER, 'idx2', [remote('c', v1, 2)], true);
    expect(store.peerState(FOLDER, PEER)).toEqual({ indexId: 'idx2', sequence: 2 });
    expect(store.getRemote(FOLDER, PEER, 'a')).toBeUndefined();
    expect(store.getRemote(FOLDER, PEER, 'b')).toBeUndefined();
    expect(store.getRemote(FOLDER, 'peer-c', 'a')).toBeDefined();

    store.forgetPeer(FOLDER, PEER);
    expect(store.peerState(FOLDER, PEER)).toEqual({ indexId: '', sequence: 0 });
    expect(store.getRemote(FOLDER, PEER, 'c')).toBeUndefined();
  });

  it('lists remote entries that differ from ours or that we lack', () => {
    const store = openStore();
    store.commitLocal(FOLDER, [change('same', v1), change('newer', v1), change('ours-only', v1)]);
    store.applyRemote(
      FOLDER,
      PEER,
      'idx',
      [remote('same', v1, 1), remote('newer', v2, 2), remote('theirs-only', v1, 3), remote('gone', v1, 4, { deleted: true })],
      false,
    );
    expect(store.remoteDiffering(FOLDER, PEER).map((e) => e.path)).toEqual(['gone', 'newer', 'theirs-only']);
  });

  describe('countOutOfSync', () => {
    interface Case {
      desc: string;
      /** Our entries. */
      local: LocalChange[];
      /** The peer's entries. */
      theirs: FileEntry[];
      want: number;
      /** Paths the matcher ignores, when given. */
      ignored?: string[];
    }
    const cases: Case[] = [
      { desc: 'equal entries agree', local: [change('a', v1)], theirs: [remote('a', v1, 1)], want: 0 },
      { desc: 'our live entry the peer lacks', local: [change('a', v1)], theirs: [], want: 1 },
      { desc: 'our tombstone the peer lacks', local: [tombstone('a', v2)], theirs: [], want: 0 },
      { desc: 'the peer live entry we lack', local: [], theirs: [remote('a', v1, 1)], want: 1 },
      { desc: 'the peer tombstone we lack', local: [], theirs: [remote('a', v2, 1, { deleted: true })], want: 0 },
      { desc: 'different versions', local: [change('a', v1)], theirs: [remote('a', v2, 1)], want: 1 },
      { desc: 'our tombstone against their older live entry', local: [tombstone('a', v2)], theirs: [remote('a', v1, 1)], want: 1 },
      { desc: 'equal tombstones agree', local: [tombstone('a', v2)], theirs: [remote('a', v2, 1, { deleted: true })], want: 0 },
      {
        desc: 'all the rules at once',
        local: [change('same', v1), change('mine', v1), change('diff', v1), tombstone('dead', v2)],
        theirs: [remote('same', v1, 1), remote('diff', v1b1, 2), remote('theirs', v1, 3)],
        want: 3,
      },
      {
        desc: 'ignored paths do not count',
        local: [change('mine', v1), change('keep', v1)],
        theirs: [remote('theirs', v1, 1)],
        ignored: ['mine', 'theirs'],
        want: 1,
      },
    ];
    it.each(cases)('$desc', ({ local, theirs, want, ignored }) => {
      const store = openStore();
      store.commitLocal(FOLDER, local);
      store.applyRemote(FOLDER, PEER, 'idx', theirs, false);
      store.applyRemote(FOLDER, 'bystander', 'idx', [remote('x', v1, 1), remote('same', v2, 2)], false);
      const isIgnored = ignored === undefined ? undefined : (p: string) => ignored.includes(p);
      expect(store.countOutOfSync(FOLDER, PEER, isIgnored)).toBe(want);
      if (ignored === undefined) expect(store.countOutOfSync(FOLDER, PEER, () => false)).toBe(want);
    });
  });

  it('adopts the local index as the peer index', () => {
    const store = openStore();
    store.commitLocal(FOLDER, [change('a', v1), tombstone('b', v2)]);
    store.applyRemote(FOLDER, PEER, 'old', [remote('stale', v1, 9)], false);
    store.adoptLocalAsRemote(FOLDER, PEER, 'idxB', 40);
    expect(store.peerState(FOLDER, PEER)).toEqual({ indexId: 'idxB', sequence: 40 });
    expect(store.getRemote(FOLDER, PEER, 'stale')).toBeUndefined();
    const local = store.allLocal(FOLDER).map(({ inode: _inode, ...entry }) => entry);
    expect(local.map((e) => store.getRemote(FOLDER, PEER, e.path))).toEqual(local);
    expect(store.remoteDiffering(FOLDER, PEER)).toEqual([]);
    expect(store.countOutOfSync(FOLDER, PEER)).toBe(0);
  });

  it('resets a folder: new index ID, no entries, no peer state; other folders untouched', () => {
    const store = openStore();
    store.commitLocal(FOLDER, [change('a', v1)]);
    store.commitLocal('other', [change('a', v1)]);
    store.applyRemote(FOLDER, PEER, 'idx', [remote('a', v1, 1)], false);
    const before = store.folderState(FOLDER);
    const otherBefore = store.folderState('other');

    store.resetFolder(FOLDER);

    const after = store.folderState(FOLDER);
    expect(after.indexId).not.toBe(before.indexId);
    expect(after).toMatchObject({ maxSequence: 0, digest: EMPTY_DIGEST_HEX });
    expect(store.allLocal(FOLDER)).toEqual([]);
    expect(store.getRemote(FOLDER, PEER, 'a')).toBeUndefined();
    expect(store.peerState(FOLDER, PEER)).toEqual({ indexId: '', sequence: 0 });
    expect(store.folderState('other')).toEqual(otherBefore);
    expect(store.allLocal('other')).toHaveLength(1);
  });
});

describe('a damaged index file', () => {
  const cases = [
    { what: 'bytes that are not a database', bytes: Buffer.from('this is not sqlite at all, just a text file '.repeat(200)) },
    { what: 'a SQLite header over garbage pages', bytes: Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(8192, 0xa5)]) },
  ];
  it.each(cases)('$what is moved aside and a fresh, empty index opens', ({ bytes }) => {
    fs.writeFileSync(dbFile, bytes);
    fs.writeFileSync(`${dbFile}-wal`, Buffer.alloc(100, 1));
    const rebuilt: string[] = [];
    const store = IndexStore.openOrRebuild(dbFile, (movedTo) => rebuilt.push(movedTo));
    open.push(store);
    expect(rebuilt).toHaveLength(1);
    expect(fs.readFileSync(rebuilt[0] ?? '').equals(bytes)).toBe(true);
    expect(store.localStats(FOLDER)).toMatchObject({ files: 0, dirs: 0, tombstones: 0 });
  });

  it('a healthy index opens as it is, and an unreadable one is not rebuilt', () => {
    openStore().close();
    open = [];
    const rebuilt: string[] = [];
    open.push(IndexStore.openOrRebuild(dbFile, (m) => rebuilt.push(m)));
    expect(rebuilt).toEqual([]);
    expect(() => IndexStore.openOrRebuild(path.join(dir, 'no-such-dir', 'index.db'), (m) => rebuilt.push(m))).toThrow();
    expect(rebuilt).toEqual([]);
  });
});
