/**
 * Patching big files in place (src/sync/patch/), on a real temp dir and a
 * real index with an in-memory peer: what lands, what the trash keeps and
 * rebuilds, what a racing local writer gets, and what recovery at start
 * makes of each journal a crash can leave.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, futimesSync, lstatSync, utimesSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { contentHash } from '../../src/core/content-hash.js';
import { signatureOf } from '../../src/delta/signature.js';
import { hasCode } from '../../src/core/errors.js';
import type { FileEntry, LocalEntry } from '../../src/index/entry.js';
import { IndexStore } from '../../src/index/store.js';
import type { PatchHooks } from '../../src/sync/patch/apply.js';
import { JOURNAL_DIR } from '../../src/sync/patch/journal-file.js';
import { decodeJournal, encodeJournal, rangesToSave } from '../../src/sync/patch/journal.js';
import { recoverPatches } from '../../src/sync/patch/recover.js';
import { tempPlaceFor } from '../../src/sync/disk/temp-place.js';
import { tempNameFor } from '../../src/core/paths.js';
import { applyTake, type PullContext } from '../../src/sync/pull/puller.js';
import { listTrash, restoreEntry } from '../../src/sync/trash/trash-catalog.js';
import { Trash } from '../../src/sync/trash/trash.js';
import { fakePeer, type FakePeer } from '../support/peer.js';
import { FOLDER, pullContext } from '../support/pull-context.js';

const KiB = 1024;
const MiB = 1024 * KiB;
let root: string;
let store: IndexStore;
const silent = pino({ level: 'silent' });

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-patch-'));
  mkdirSync(path.join(root, '.wizard'));
  store = IndexStore.open(':memory:');
});

afterEach(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

const sha = contentHash;
const abs = (rel: string) => path.join(root, rel);

/** Writes `content` at `rel` and records it in the index as ours. */
function ours(rel: string, content: Buffer): LocalEntry {
  writeFileSync(abs(rel), content);
  // A whole millisecond, which a writer can set again exactly (Node sets times through a double of seconds).
  utimesSync(abs(rel), new Date(1_690_000_000_000), new Date(1_690_000_000_000));
  const st = lstatSync(abs(rel));
  const [stored] = store.commitLocal(FOLDER, [{ path: rel, type: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, hash: sha(content), target: '', version: { me: 1 }, deleted: false, inode: st.ino }]);
  // As the scanner leaves a file of 1 MiB or more: with its block sums stored.
  if (content.length >= MiB) store.sums.put(FOLDER, rel, sha(content), signatureOf(content));
  return stored as LocalEntry;
}

function theirs(rel: string, content: Buffer, version = { me: 1, p: 1 }): FileEntry {
  return { path: rel, type: 'file', size: content.length, mtimeMs: 1_700_000_000_000, mode: 0o644, hash: sha(content), target: '', version, deleted: false, sequence: 1 };
}

function context(served: Record<string, Buffer>, patchHooks?: PatchHooks): { ctx: PullContext; peer: FakePeer } {
  const peer = fakePeer(served);
  return { ctx: { ...pullContext(root, store, {}), readBlock: peer.readBlock, readSums: peer.readSums, ...(patchHooks === undefined ? {} : { patchHooks }) }, peer };
}

const journals = () => (existsSync(abs(JOURNAL_DIR)) ? readdirSync(abs(JOURNAL_DIR)) : []);

/** `base` with `bytes` overwritten at `at`. */
function edited(base: Buffer, at: number, bytes: Buffer): Buffer {
  const out = Buffer.from(base);
  bytes.copy(out, at);
  return out;
}

describe('patch in place', () => {
  it('a 4 KiB edit in a 4 MiB file is written into the same inode, recorded, and its old version kept as a small reverse delta that restore rebuilds', async () => {
    const old = randomBytes(4 * MiB);
    const before = ours('big.bin', old);
    const next = edited(old, 2 * MiB + 100, randomBytes(4 * KiB));
    const { ctx, peer } = context({ 'big.bin': next });
    const entry = theirs('big.bin', next);
    await applyTake(ctx, entry, entry.version, ['peer']);

    expect(readFileSync(abs('big.bin')).equals(next)).toBe(true);
    expect(lstatSync(abs('big.bin')).ino, 'patched in place, not renamed over').toBe(before.inode);
    expect(store.getLocal(FOLDER, 'big.bin')).toMatchObject({ hash: entry.hash, size: next.length, inode: before.inode });
    // The kept blocks' sums come from the stored ones, the changed blocks' are computed: together, the new file's.
    const stored = store.sums.get(FOLDER, 'big.bin', entry.hash);
    const want = signatureOf(next);
    expect(stored?.blockSize).toBe(want.blockSize);
    expect(Buffer.from(stored?.strong ?? []).equals(Buffer.from(want.strong))).toBe(true);
    expect(Buffer.from((stored?.weak ?? new Uint32Array()).buffer).equals(Buffer.from(want.weak.buffer))).toBe(true);
    expect(peer.blockBytes).toBeLessThan(64 * KiB);
    expect(journals()).toEqual([]);
    const trash = await listTrash(root);
    expect(trash.map((e) => [e.path, e.form, e.cause])).toEqual([['big.bin', 'reverse-delta', 'replaced']]);
    expect(trash[0]?.size, 'the trash keeps the overwritten bytes, not a second 4 MiB').toBeLessThan(64 * KiB);

    await restoreEntry(root, new Trash(root, systemClock), trash[0] as (typeof trash)[number]);
    expect(readFileSync(abs('big.bin')).equals(old)).toBe(true);
    // What restore replaced is kept in the trash like any restore.
    expect((await listTrash(root)).map((e) => e.cause)).toEqual(['restored-over']);
  });

  it('appends and truncations are patched in place too, and each old version is rebuilt through the chain of deltas', async () => {
    const v1 = randomBytes(2 * MiB);
    const inode = ours('log.bin', v1).inode;
    const v2 = Buffer.concat([v1, randomBytes(100 * KiB)]);
    const e2 = theirs('log.bin', v2, { me: 1, p: 1 });
    await applyTake(context({ 'log.bin': v2 }).ctx, e2, e2.version, ['peer']);
    // Trash names are stamped to the millisecond: the next version a moment later.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const v3 = v2.subarray(0, 2 * MiB - 64 * KiB);
    const e3 = theirs('log.bin', v3, { me: 1, p: 2 });
    await applyTake(context({ 'log.bin': v3 }).ctx, e3, e3.version, ['peer']);
    expect(readFileSync(abs('log.bin')).equals(v3)).toBe(true);
    expect(lstatSync(abs('log.bin')).ino).toBe(inode);

    const trash = await listTrash(root);
    expect(trash.map((e) => e.form)).toEqual(['reverse-delta', 'reverse-delta']);
    // The older entry (v1) applies to v2, which only the newer entry rebuilds from the current file.
    await restoreEntry(root, new Trash(root, systemClock), trash[0] as (typeof trash)[number]);
    expect(readFileSync(abs('log.bin')).equals(v1)).toBe(true);
  });

  it('restore says plainly, and changes nothing, when the file was replaced since the reverse delta was made', async () => {
    const v1 = randomBytes(2 * MiB);
    ours('doc.bin', v1);
    const v2 = edited(v1, 1000, randomBytes(1000));
    const e2 = theirs('doc.bin', v2);
    await applyTake(context({ 'doc.bin': v2 }).ctx, e2, e2.version, ['peer']);
    const other = randomBytes(2 * MiB);
    writeFileSync(abs('doc.bin'), other);
    const [entry] = await listTrash(root);
    const err = await restoreEntry(root, new Trash(root, systemClock), entry as NonNullable<typeof entry>).catch((e: unknown) => e);
    expect(hasCode(err, 'USAGE')).toBe(true);
    expect(String(err)).toMatch(/cannot restore doc\.bin .*replaced or changed since.*nothing was changed/);
    expect(readFileSync(abs('doc.bin')).equals(other)).toBe(true);
    expect((await listTrash(root)).length).toBe(1);
  });

  it('shifted content is not patched in place: a new inode from a temp file, the old version whole in the trash', async () => {
    const old = randomBytes(2 * MiB);
    const before = ours('shift.bin', old);
    const next = Buffer.concat([Buffer.from('100 new bytes at the start'), old]);
    const entry = theirs('shift.bin', next);
    await applyTake(context({ 'shift.bin': next }).ctx, entry, entry.version, ['peer']);
    expect(readFileSync(abs('shift.bin')).equals(next)).toBe(true);
    expect(lstatSync(abs('shift.bin')).ino).not.toBe(before.inode);
    expect((await listTrash(root)).map((e) => [e.form, e.size])).toEqual([['whole', old.length]]);
  });

  it('a file not patched in place still reuses a partial download of the new version (the plan made for the patch leaves partials out, so it is not reused)', async () => {
    ours('new.bin', randomBytes(2 * MiB));
    const next = randomBytes(2 * MiB);
    const entry = theirs('new.bin', next);
    const place = tempPlaceFor(root, 'new.bin');
    writeFileSync(path.join(place.dir, tempNameFor(place.stem, `${entry.hash.slice(0, 16)}-00000000`)), next.subarray(0, 3 * (MiB / 2)));
    const { ctx, peer } = context({ 'new.bin': next });
    await applyTake(ctx, entry, entry.version, ['peer']);
    expect(readFileSync(abs('new.bin')).equals(next)).toBe(true);
    expect(peer.blockBytes, 'only the half MiB the partial lacks').toBeLessThan(MiB);
  });

  it('a local write between the verification and the lock is caught by its ctime: CHANGED, the file keeps the write, nothing recorded or trashed', async () => {
    const old = randomBytes(2 * MiB);
    const before = ours('vm.img', old);
    const next = edited(old, MiB, randomBytes(4 * KiB));
    const local = randomBytes(512);
    // Same size and mtime afterwards (as a VM or database writing in place with its own clock would leave it): only ctime tells.
    const writer = () => {
      const fd = openSync(abs('vm.img'), 'r+');
      writeSync(fd, local, 0, local.length, 10);
      futimesSync(fd, new Date(before.mtimeMs), new Date(before.mtimeMs));
      closeSync(fd);
    };
    const entry = theirs('vm.img', next);
    const err = await applyTake(context({ 'vm.img': next }, { afterVerify: writer }).ctx, entry, entry.version, ['peer']).catch((e: unknown) => e);
    expect(hasCode(err, 'CHANGED')).toBe(true);
    expect(readFileSync(abs('vm.img')).equals(edited(old, 10, local))).toBe(true);
    expect(store.getLocal(FOLDER, 'vm.img')?.hash).toBe(before.hash);
    expect(journals()).toEqual([]);
    expect(await listTrash(root)).toEqual([]);
  });

  it('a local write after the patch is caught by the last look: CHANGED, the mixed file is not recorded, and is left with the write in it', async () => {
    const old = randomBytes(2 * MiB);
    const before = ours('db.bin', old);
    const next = edited(old, MiB, randomBytes(4 * KiB));
    const local = Buffer.from('written by another program');
    const writer = () => {
      const fd = openSync(abs('db.bin'), 'r+');
      writeSync(fd, local, 0, local.length, 0);
      closeSync(fd);
    };
    const entry = theirs('db.bin', next);
    const err = await applyTake(context({ 'db.bin': next }, { afterWrite: writer }).ctx, entry, entry.version, ['peer']).catch((e: unknown) => e);
    expect(hasCode(err, 'CHANGED')).toBe(true);
    expect(String(err)).toMatch(/written by another program while Wizard patched it/);
    expect(readFileSync(abs('db.bin')).equals(edited(next, 0, local)), 'the other program keeps its bytes').toBe(true);
    expect(store.getLocal(FOLDER, 'db.bin')?.hash, 'the mixed file is never recorded as the new version').toBe(before.hash);
    expect(journals()).toEqual([]);
  });

  it('a failure after the file was written puts the old bytes and mtime back and drops the journal', async () => {
    const old = randomBytes(2 * MiB);
    const before = ours('fail.bin', old);
    const next = edited(old, 3000, randomBytes(4 * KiB));
    const entry = theirs('fail.bin', next);
    const failing = () => {
      throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    };
    const err = await applyTake(context({ 'fail.bin': next }, { afterWrite: failing }).ctx, entry, entry.version, ['peer']).catch((e: unknown) => e);
    expect(String(err)).toMatch(/EIO/);
    expect(readFileSync(abs('fail.bin')).equals(old)).toBe(true);
    expect(lstatSync(abs('fail.bin')).mtimeMs).toBe(before.mtimeMs);
    expect(journals()).toEqual([]);
  });

  it('when putting the old bytes back fails too, the journal stays, the folder is halted, and recovery rolls the file back', async () => {
    const old = randomBytes(2 * MiB);
    const before = ours('stuck.bin', old);
    const next = edited(old, 3000, randomBytes(4 * KiB));
    const entry = theirs('stuck.bin', next);
    const eio = () => {
      throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    };
    const halts: string[] = [];
    const { ctx } = context({ 'stuck.bin': next }, { afterWrite: eio, beforeUndo: eio });
    const err = await applyTake({ ...ctx, halt: (reason) => halts.push(reason) }, entry, entry.version, ['peer']).catch((e: unknown) => e);
    expect(String(err)).toMatch(/EIO/);
    expect(halts).toHaveLength(1);
    expect(halts[0]).toMatch(/stuck\.bin was left half patched .*the folder pauses, and rolls it back when it resumes/);
    expect(store.getLocal(FOLDER, 'stuck.bin')?.hash).toBe(before.hash);
    expect(journals()).toHaveLength(1);
    expect(await recoverPatches({ root, getLocal: (rel: string) => store.getLocal(FOLDER, rel), trash: new Trash(root, systemClock), commit: (e) => void store.commitLocal(FOLDER, e), log: silent })).toEqual(['rolled-back']);
    expect(readFileSync(abs('stuck.bin')).equals(old)).toBe(true);
  });
});

describe('recovery at start', () => {
  /** A journal for patching `rel` (now `old` on disk and in the index) into `next` by overwriting `writes`, as apply.ts writes it. */
  function journalFor(rel: string, old: Buffer, next: Buffer, writes: Array<[number, number]>): { file: string; local: LocalEntry } {
    const local = ours(rel, old);
    const st = lstatSync(abs(rel));
    const ranges = rangesToSave(writes, old.length, next.length);
    const bytes = encodeJournal(
      { path: rel, disk: rel, dev: st.dev, ino: st.ino, oldSize: old.length, oldHash: sha(old), oldMtimeMs: st.mtimeMs, newSize: next.length, newHash: sha(next), hashMeaning: 2, ranges },
      ranges.map(([at, length]) => old.subarray(at, at + length)),
    );
    mkdirSync(abs(JOURNAL_DIR), { recursive: true });
    const file = path.join(abs(JOURNAL_DIR), 'x.wzj');
    writeFileSync(file, bytes);
    return { file, local };
  }
  const deps = () => ({ root, getLocal: (rel: string) => store.getLocal(FOLDER, rel), trash: new Trash(root, systemClock), commit: (e: Array<Omit<LocalEntry, 'sequence'>>) => void store.commitLocal(FOLDER, e), log: silent });

  it('a journal whose patch was cut short rolls the file back to its old bytes, size and mtime, whatever mix it holds', async () => {
    const old = randomBytes(MiB + 5000);
    const next = Buffer.concat([edited(old, 100, randomBytes(2000)).subarray(0, MiB), randomBytes(9000)]);
    const { local } = journalFor('f.bin', old, next, [[0, 4096], [MiB, 9000]]);
    // Half the patch landed: the first range, not the tail.
    const fd = openSync(abs('f.bin'), 'r+');
    writeSync(fd, next, 0, 4096, 0);
    closeSync(fd);
    expect(await recoverPatches(deps())).toEqual(['rolled-back']);
    expect(readFileSync(abs('f.bin')).equals(old)).toBe(true);
    // A pulled file's whole-millisecond mtime comes back exactly: a scan sees no touch, so no new version of ours.
    expect(lstatSync(abs('f.bin')).mtimeMs).toBe(local.mtimeMs);
    expect(store.getLocal(FOLDER, 'f.bin')).toMatchObject({ mtimeMs: local.mtimeMs, version: local.version, hash: local.hash });
    expect(journals()).toEqual([]);
    // Twice is the same as once (a crash during recovery).
    expect(await recoverPatches(deps())).toEqual([]);
  });

  it('an mtime Node cannot set exactly (nanoseconds of a local write) is recorded as the disk has it after the rollback, with the same version', async () => {
    const old = randomBytes(MiB);
    const next = edited(old, 10, randomBytes(10));
    // An mtime with nanoseconds, as a local program's write leaves it.
    writeFileSync(abs('n.bin'), old);
    utimesSync(abs('n.bin'), 1_690_000_000.123_456_7, 1_690_000_000.123_456_7);
    const st = lstatSync(abs('n.bin'));
    const [local] = store.commitLocal(FOLDER, [{ path: 'n.bin', type: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, hash: sha(old), target: '', version: { me: 3 }, deleted: false, inode: st.ino }]);
    const ranges = rangesToSave([[0, 4096]], old.length, next.length);
    mkdirSync(abs(JOURNAL_DIR), { recursive: true });
    writeFileSync(
      path.join(abs(JOURNAL_DIR), 'n.wzj'),
      encodeJournal({ path: 'n.bin', disk: 'n.bin', dev: st.dev, ino: st.ino, oldSize: old.length, oldHash: sha(old), oldMtimeMs: st.mtimeMs, newSize: next.length, newHash: sha(next), hashMeaning: 2, ranges }, ranges.map(([at, length]) => old.subarray(at, at + length))),
    );
    writeFileSync(abs('n.bin'), next);
    expect(await recoverPatches(deps())).toEqual(['rolled-back']);
    const after = store.getLocal(FOLDER, 'n.bin');
    expect(after?.mtimeMs, 'the index agrees with the disk, so a scan sees nothing').toBe(lstatSync(abs('n.bin')).mtimeMs);
    expect(after).toMatchObject({ hash: sha(old), version: local?.version });
  });

  it('a torn journal is dropped and the file, never touched, is left alone', async () => {
    const old = randomBytes(MiB);
    const { file } = journalFor('t.bin', old, edited(old, 0, randomBytes(10)), [[0, 10]]);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 7));
    expect(decodeJournal(readFileSync(file))).toBeUndefined();
    expect(await recoverPatches(deps())).toEqual(['dropped-torn']);
    expect(readFileSync(abs('t.bin')).equals(old)).toBe(true);
    expect(journals()).toEqual([]);
  });

  it('a journal older than the version the index records is not rolled back (that would mix versions) but kept in the trash', async () => {
    const v1 = randomBytes(MiB);
    const v2 = edited(v1, 0, randomBytes(100));
    const { local } = journalFor('o.bin', v1, v2, [[0, 100]]);
    // A later version, committed since: the index and the file are v3.
    const v3 = edited(v2, 500, randomBytes(100));
    writeFileSync(abs('o.bin'), v3);
    store.commitLocal(FOLDER, [{ ...local, hash: sha(v3) }]);
    expect(await recoverPatches(deps())).toEqual(['kept-in-trash']);
    expect(readFileSync(abs('o.bin')).equals(v3)).toBe(true);
    expect(journals()).toEqual([]);
  });

  it('a journal whose patch the index already committed becomes the trash entry, and the file is left as the new version', async () => {
    const old = randomBytes(MiB);
    const next = edited(old, 500, randomBytes(500));
    const { local } = journalFor('c.bin', old, next, [[0, 4096]]);
    writeFileSync(abs('c.bin'), next);
    store.commitLocal(FOLDER, [{ ...local, hash: sha(next) }]);
    expect(await recoverPatches(deps())).toEqual(['kept-in-trash']);
    expect(readFileSync(abs('c.bin')).equals(next)).toBe(true);
    const [entry] = await listTrash(root);
    expect(entry?.form).toBe('reverse-delta');
    await restoreEntry(root, new Trash(root, systemClock), entry as NonNullable<typeof entry>);
    expect(readFileSync(abs('c.bin')).equals(old)).toBe(true);
  });
});
