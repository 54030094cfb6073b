/**
 * Recovery of patches in place cut short by a crash, run when a folder
 * starts, before its first scan and before any pull (docs/DELTA.md, "After
 * a crash"). For each journal left in `.wizard/journal`:
 * - torn (bad checksum): it was never complete, so the file was never
 *   touched: dropped;
 * - the index already records the new version on that inode: the patch was
 *   committed and only the journal's move to the trash was lost: moved now;
 * - when the index records the old version (the patch was not committed):
 *   the old bytes are put back, the file cut to its old size and given its
 *   old mtime, fsynced, and checked against the old hash; the pull runs
 *   again later;
 * - when the index records neither (a journal whose move to the trash failed,
 *   and a later version committed since): moved to the trash, not applied. Putting back is idempotent: a crash during recovery
 *   leaves the journal, and the next start does it again.
 */
import { closeSync, constants, fstatSync, fsync, lstatSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { describeError } from '../../core/errors.js';
import { resolveOnDisk } from '../../core/paths.js';
import type { LocalEntry } from '../../index/entry.js';
import { realAncestors } from '../../index/real-path.js';
import type { Trash } from '../trash/trash.js';
import { JOURNAL_DIR } from './journal-file.js';
import { decodeJournal, type Journal } from './journal.js';
import { hashOf, putOldBytesBack, restoreMtime, withoutSequence } from './reverse.js';

const syncFd = promisify(fsync);

/** What recovery needs from the folder. */
export interface RecoveryDeps {
  readonly root: string;
  /** Our index entry for a path. */
  readonly getLocal: (rel: string) => LocalEntry | undefined;
  readonly trash: Trash;
  /** Records entries in the index: a rolled-back file's mtime, when the disk's differs from the index's by a few nanoseconds. */
  readonly commit: (entries: Array<Omit<LocalEntry, 'sequence'>>) => void;
  readonly log: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** What recovery did with one journal. */
export type Recovered = 'dropped-torn' | 'kept-in-trash' | 'rolled-back' | 'rolled-back-differs' | 'file-gone';

/** Settles every journal in the folder's journal dir; returns what it did with each. */
export async function recoverPatches(deps: RecoveryDeps): Promise<Recovered[]> {
  const dir = path.join(deps.root, ...JOURNAL_DIR.split('/'));
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (st === undefined || !st.isDirectory()) return [];
  const done: Recovered[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.wzj')).sort()) {
    const file = path.join(dir, name);
    done.push(await recoverOne(deps, file));
  }
  if (done.length > 0) await syncDir(dir);
  return done;
}

async function recoverOne(deps: RecoveryDeps, file: string): Promise<Recovered> {
  const journal = readJournal(file);
  if (journal === undefined) {
    rmSync(file, { force: true });
    deps.log.info({ journal: file }, 'dropped a patch journal cut short by a crash; its file was never touched');
    return 'dropped-torn';
  }
  const h = journal.header;
  const fd = openPatched(deps.root, journal);
  if (fd === undefined) {
    rmSync(file, { force: true });
    deps.log.warn({ path: h.path }, 'a patch journal names a file that is gone or was replaced; dropped it');
    return 'file-gone';
  }
  try {
    const local = deps.getLocal(h.path);
    const isRecorded = local !== undefined && !local.deleted && local.inode === h.ino;
    if (isRecorded && local.hash === h.newHash) {
      await deps.trash.keepReverseDelta(file, h.path);
      deps.log.info({ path: h.path }, 'a committed patch in place kept its old version in the trash after a restart');
      return 'kept-in-trash';
    }
    if (!isRecorded || local.hash !== h.oldHash) {
      // The index has moved past both versions (a journal whose move to the trash failed, then a later
      // patch committed): putting these old bytes back would mix versions. Kept in the trash, where a
      // restore applies it only to the version it was made from.
      await deps.trash.keepReverseDelta(file, h.path);
      deps.log.warn({ path: h.path }, 'a patch journal older than the version the index records was moved to the trash, not rolled back');
      return 'kept-in-trash';
    }
    await putOldBytesBack(fd, journal);
    await restoreMtime(fd, local.mtimeMs);
    await syncFd(fd);
    const isOld = (await hashOf(fd, h.oldSize, h)) === h.oldHash;
    // The same bytes with an mtime a few nanoseconds off would read as a touch, a new version of ours (see restoreMtime).
    const st = fstatSync(fd);
    if (isOld && st.mtimeMs !== local.mtimeMs) deps.commit([withoutSequence({ ...local, mtimeMs: st.mtimeMs })]);
    rmSync(file, { force: true });
    if (isOld) deps.log.info({ path: h.path }, 'rolled back a patch in place cut short by a crash; the file is its old version');
    else deps.log.error({ path: h.path }, 'rolled back a patch in place cut short by a crash, but the file differs from its old version (changed while Wizard was down?); it is rescanned as a local edit');
    return isOld ? 'rolled-back' : 'rolled-back-differs';
  } finally {
    closeSync(fd);
  }
}

/** The journal at `file`, or undefined when it is torn or not one. */
function readJournal(file: string): Journal | undefined {
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return decodeJournal(readFileSync(fd));
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The journal's file, open for writing, when it is still the inode patched and its size is one a patch of it can leave. */
function openPatched(root: string, journal: Journal): number | undefined {
  const h = journal.header;
  let fd: number;
  try {
    if (!realAncestors(root, h.disk)) return undefined;
    fd = openSync(resolveOnDisk(root, h.disk), constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (['ENOENT', 'ELOOP', 'ENOTDIR', 'EISDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw new Error(`cannot open ${h.path} to roll back its patch: ${describeError(err)}`, { cause: err });
  }
  const st = fstatSync(fd);
  const [low, high] = [Math.min(h.oldSize, h.newSize), Math.max(h.oldSize, h.newSize)];
  if (!st.isFile() || st.ino !== h.ino || st.dev !== h.dev || st.size < low || st.size > high) {
    closeSync(fd);
    return undefined;
  }
  return fd;
}

async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
