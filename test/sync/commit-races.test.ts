/**
 * Races on the last step of a pull, made deterministic: a hook in the trash or
 * in the landing lock acts as the racing user (an edit saved, M2) or the
 * racing local attacker (a dir swapped for a symlink, M4) at the exact moment
 * between the puller's checks and its rename. Real files, real index.
 */
import { contentHash } from '../../src/core/content-hash.js';
import { pullContext } from '../support/pull-context.js';
import { appendFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { hasCode } from '../../src/core/errors.js';
import type { FileEntry, LocalEntry } from '../../src/index/entry.js';
import { IndexStore } from '../../src/index/store.js';
import { observe } from '../../src/index/scanner.js';
import { applyTake, type PullContext } from '../../src/sync/pull/puller.js';
import { entryFor } from '../../src/sync/scan/local-changes.js';
import { reconcile } from '../../src/sync/pull/reconcile.js';
import { Trash, type TrashCause } from '../../src/sync/trash/trash.js';
import type { VersionVector } from '../../src/versions/vector.js';
import { tempFilesIn } from '../support/temps.js';

let root: string;
let outside: string;
let store: IndexStore;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-races-'));
  mkdirSync(path.join(root, '.wizard'));
  outside = mkdtempSync(path.join(os.tmpdir(), 'wizard-outside-'));
  writeFileSync(path.join(outside, 'sentinel.txt'), 'must stay untouched');
  store = IndexStore.open(':memory:');
});

afterEach(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const sha = contentHash;

function remoteFile(rel: string, content: string, version: VersionVector = { p: 1 }): FileEntry {
  return { path: rel, type: 'file', size: Buffer.byteLength(content), mtimeMs: 1_700_000_000_000, mode: 0o644, hash: sha(content), target: '', version, deleted: false, sequence: 1 };
}

/** A trash that lets `race` run as the first thing of its step: after the puller's checks, before its rename. */
class RacingTrash extends Trash {
  constructor(
    root: string,
    private readonly race: () => void,
  ) {
    super(root, systemClock);
  }

  override async preserve(abs: string, rel: string, cause?: TrashCause): Promise<string> {
    this.race();
    return super.preserve(abs, rel, cause);
  }

  override async moveIn(abs: string, rel: string, cause?: TrashCause, check?: () => void): Promise<string> {
    this.race();
    return super.moveIn(abs, rel, cause, check);
  }
}

/** A pull context on `root`; `race` runs inside the trash step, `beforeLanding` under the lock before the landing step. */
function context(served: Record<string, string>, hooks: { race?: () => void; beforeLanding?: () => void } = {}): PullContext {
  return pullContext(root, store, served, {
    ...(hooks.race === undefined ? {} : { trash: new RacingTrash(root, hooks.race) }),
    ...(hooks.beforeLanding === undefined ? {} : { beforeLanding: hooks.beforeLanding }),
  });
}

/** Records what is on disk at `rel` as the index's view of it (what a scan would). */
function indexDisk(rel: string, version: VersionVector = { me: 1 }): LocalEntry {
  const abs = path.join(root, rel);
  const st = lstatSync(abs);
  const [stored] = store.commitLocal('f', [
    { path: rel, type: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, hash: sha(readFileSync(abs)), target: '', version, deleted: false, inode: st.ino },
  ]);
  return stored as LocalEntry;
}

function trashFiles(): string[] {
  const dir = path.join(root, '.wizard', 'trash');
  return existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]) : [];
}

/** Every name below `dir` with its content (files), link target (links) or mode and mtime (dirs). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const abs = path.join(dir, name);
    const st = lstatSync(abs);
    out[name] = st.isFile() ? `file ${st.mtimeMs} ${readFileSync(abs, 'utf8')}` : `${st.isDirectory() ? 'dir' : 'other'} ${st.mode} ${st.mtimeMs}`;
  }
  return out;
}

const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);

describe('M2: the local target edited between the scan and the rename of the pulled file', () => {
  it('M2: an edit saved in place after the checks aborts the pull; the edit stays, no stray trash entry, the index untouched', async () => {
    writeFileSync(path.join(root, 'doc.txt'), 'scanned version');
    const before = indexDisk('doc.txt');
    const entry = remoteFile('doc.txt', 'theirs', { me: 1, p: 1 });
    const race = () => appendFileSync(path.join(root, 'doc.txt'), ' + my edit');
    const err = await failure(applyTake(context({ 'doc.txt': 'theirs' }, { race }), entry, entry.version, ['peer'], { basedOn: before.sequence }));
    expect(hasCode(err, 'CHANGED')).toBe(true);
    expect(readFileSync(path.join(root, 'doc.txt'), 'utf8')).toBe('scanned version + my edit');
    expect(trashFiles()).toEqual([]);
    expect(store.getLocal('f', 'doc.txt')).toEqual(before);
    expect(tempFilesIn(root)).toEqual([]);
  });

  it('M2: an editor save (a new file renamed over the target) after the checks aborts the pull and keeps the saved file', async () => {
    writeFileSync(path.join(root, 'doc.txt'), 'scanned version');
    indexDisk('doc.txt');
    const entry = remoteFile('doc.txt', 'theirs', { me: 1, p: 1 });
    const race = () => {
      writeFileSync(path.join(root, '.doc.txt.swp'), 'saved by the editor');
      renameSync(path.join(root, '.doc.txt.swp'), path.join(root, 'doc.txt'));
    };
    const err = await failure(applyTake(context({ 'doc.txt': 'theirs' }, { race }), entry, entry.version, ['peer']));
    expect(hasCode(err, 'CHANGED')).toBe(true);
    expect(readFileSync(path.join(root, 'doc.txt'), 'utf8')).toBe('saved by the editor');
  });

  it('M2: a file truncated after the checks aborts the deletion a peer asked for; the file stays', async () => {
    writeFileSync(path.join(root, 'bye.txt'), 'contents');
    const local = indexDisk('bye.txt');
    const tombstone: FileEntry = { ...local, size: 0, hash: '', deleted: true, version: { me: 1, p: 1 } };
    const race = () => writeFileSync(path.join(root, 'bye.txt'), '');
    const err = await failure(applyTake(context({}, { race }), tombstone, tombstone.version, []));
    expect(hasCode(err, 'CHANGED')).toBe(true);
    expect(existsSync(path.join(root, 'bye.txt'))).toBe(true);
    expect(store.getLocal('f', 'bye.txt')?.deleted).toBe(false);
  });

  it('M2: after the abort, the rescan records the edit and the next decision keeps it as a conflict copy beside the peer version', async () => {
    writeFileSync(path.join(root, 'doc.txt'), 'scanned version');
    const scanned = indexDisk('doc.txt');
    const theirs = remoteFile('doc.txt', 'theirs', { me: 1, p: 1 });
    const race = () => appendFileSync(path.join(root, 'doc.txt'), ' + my edit');
    expect(hasCode(await failure(applyTake(context({ 'doc.txt': 'theirs' }, { race }), theirs, theirs.version, ['peer'])), 'CHANGED')).toBe(true);

    // The rescan the CHANGED error asks for: the edit is recorded as a new local version.
    const obs = await observe(root, 'doc.txt');
    const edited = entryFor({ path: 'doc.txt', obs, prev: scanned }, sha(readFileSync(path.join(root, 'doc.txt'))), 'me', Date.now());
    const [recorded] = store.commitLocal('f', [edited as Omit<LocalEntry, 'sequence'>]);
    // The peer's version is older than the edit by mtime, so it wins only if the tie-break says so; make it win to see the copy.
    const decision = reconcile(recorded, [{ peer: 'peer', entry: { ...theirs, mtimeMs: Date.now() + 60_000 } }]);
    expect(decision).toMatchObject({ kind: 'take', replacesConcurrent: true });
    if (decision.kind !== 'take') return;
    const copy = 'doc.sync-conflict-20261128-000000-me.txt';
    await applyTake(context({ 'doc.txt': 'theirs' }), decision.entry, decision.version, ['peer'], { keepLocalAs: copy, basedOn: recorded?.sequence ?? 0 });
    expect(readFileSync(path.join(root, 'doc.txt'), 'utf8')).toBe('theirs');
    expect(readFileSync(path.join(root, copy), 'utf8')).toBe('scanned version + my edit');
  });
});

describe('M4: a dir swapped for a symlink out of the folder between the check and the rename', () => {
  /** The attacker: moves `root/sub` (with whatever we put in it) into `outside`, and leaves a link to it in its place. */
  const swapOut = () => {
    renameSync(path.join(root, 'sub'), path.join(outside, 'sub'));
    symlinkSync(path.join(outside, 'sub'), path.join(root, 'sub'));
  };

  it('M4: a new file is not renamed into the dir moved outside: the pull fails, outside stays as the attacker left it, and our temp file (in .wizard/tmp, which did not move) is removed', async () => {
    mkdirSync(path.join(root, 'sub'));
    const entry = remoteFile('sub/new.txt', 'pulled');
    let after: Record<string, string> = {};
    const beforeLanding = () => {
      swapOut();
      after = snapshot(outside);
    };
    const err = await failure(applyTake(context({ 'sub/new.txt': 'pulled' }, { beforeLanding }), entry, entry.version, ['peer']));
    expect(hasCode(err, 'BAD_PATH') || hasCode(err, 'CHANGED')).toBe(true);
    expect(existsSync(path.join(outside, 'sub', 'new.txt'))).toBe(false);
    expect(snapshot(outside)).toEqual(after);
    expect(readdirSync(path.join(root, '.wizard', 'tmp'))).toEqual([]);
    expect(store.getLocal('f', 'sub/new.txt')).toBeUndefined();
  });

  it('M4: a link to a sentinel dir in place of the parent: nothing is written into the sentinel', async () => {
    mkdirSync(path.join(root, 'sub'));
    const entry = remoteFile('sub/new.txt', 'pulled');
    const before = snapshot(outside);
    const beforeLanding = () => {
      renameSync(path.join(root, 'sub'), path.join(root, 'moved-away'));
      symlinkSync(outside, path.join(root, 'sub'));
    };
    await failure(applyTake(context({ 'sub/new.txt': 'pulled' }, { beforeLanding }), entry, entry.version, ['peer']));
    expect(snapshot(outside)).toEqual(before);
  });

  it('M4: replacing an indexed file whose dir is swapped after the checks: the file moved outside is not overwritten', async () => {
    mkdirSync(path.join(root, 'sub'));
    writeFileSync(path.join(root, 'sub', 'doc.txt'), 'old');
    indexDisk('sub/doc.txt');
    const entry = remoteFile('sub/doc.txt', 'pulled', { me: 1, p: 1 });
    let after: Record<string, string> = {};
    const race = () => {
      swapOut();
      after = snapshot(outside);
    };
    const err = await failure(applyTake(context({ 'sub/doc.txt': 'pulled' }, { race }), entry, entry.version, ['peer']));
    expect(hasCode(err, 'BAD_PATH') || hasCode(err, 'CHANGED')).toBe(true);
    expect(readFileSync(path.join(outside, 'sub', 'doc.txt'), 'utf8')).toBe('old');
    expect(snapshot(outside)).toEqual(after);
    expect(trashFiles().filter((n) => n.includes('doc.txt~'))).toEqual([]);
  });

  it('M4: a deletion whose dir is swapped after the checks does not move the file out of the outside dir into our trash', async () => {
    mkdirSync(path.join(root, 'sub'));
    writeFileSync(path.join(root, 'sub', 'bye.txt'), 'contents');
    const local = indexDisk('sub/bye.txt');
    const tombstone: FileEntry = { ...local, size: 0, hash: '', deleted: true, version: { me: 1, p: 1 } };
    let after: Record<string, string> = {};
    const race = () => {
      swapOut();
      after = snapshot(outside);
    };
    const err = await failure(applyTake(context({}, { race }), tombstone, tombstone.version, []));
    expect(hasCode(err, 'BAD_PATH') || hasCode(err, 'CHANGED')).toBe(true);
    expect(readFileSync(path.join(outside, 'sub', 'bye.txt'), 'utf8')).toBe('contents');
    expect(snapshot(outside)).toEqual(after);
  });
});
