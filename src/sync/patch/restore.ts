/**
 * Rebuilding an old version from reverse-delta trash entries (the journals
 * of patches in place, patch/journal.ts), in the manner of rdiff-backup's
 * reverse increments: start from the current file, and apply the entries of
 * its path newest first, each to the version it was made from, down to the
 * one asked for. Every step is checked by hash before the next.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsync, openSync, read, readFileSync, rmSync, write } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describeError, WizardError } from '../../core/errors.js';
import { resolveOnDisk } from '../../core/paths.js';
import { realAncestors } from '../../index/real-path.js';
import { sharedTempDir } from '../disk/temp-place.js';
import { TRASH_DIR } from '../trash/trash.js';
import { decodeJournal, type Journal } from './journal.js';
import { BothHasher, bothHashesOf, inMeaningOf, putOldBytesBack, type BothHashes } from './reverse.js';

const readAt = promisify(read);
const writeAt = promisify(write);
const syncFd = promisify(fsync);
const COPY_CHUNK = 2 * 1024 * 1024;

/** A trash entry as this module needs it. */
export interface DeltaEntry {
  readonly entry: string;
  readonly path: string;
  readonly trashedAtMs: number;
  readonly form: 'whole' | 'reverse-delta';
}

/** Reads a reverse-delta trash entry; throws when it is not a whole one. */
export function readDeltaEntry(root: string, entry: string): Journal {
  const fd = openSync(path.join(root, TRASH_DIR, ...entry.split('/')), constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const journal = decodeJournal(readFileSync(fd));
    if (journal === undefined) throw new WizardError('USAGE', `the trash entry ${entry} is damaged (its checksum does not match); it cannot be restored`);
    return journal;
  } finally {
    closeSync(fd);
  }
}

/**
 * Builds the version `target` (a reverse-delta entry) of `target.path` into
 * a new temp file in the folder's `.wizard/tmp`; returns the temp file's
 * path, with the old version's mtime to give it. `entries`: the folder's
 * trash, to find the entries between the current file and `target`.
 * Throws USAGE, in one line, when the chain from the current file back to
 * `target` is broken; nothing is changed then.
 */
export async function rebuildFromDeltas(root: string, entries: readonly DeltaEntry[], target: DeltaEntry): Promise<string> {
  // Entries of the path from the newest down to the one asked for.
  const chain = entries.filter((e) => e.path === target.path && e.form === 'reverse-delta' && e.trashedAtMs >= target.trashedAtMs && e.entry !== target.entry);
  chain.sort((x, y) => y.trashedAtMs - x.trashedAtMs || (x.entry < y.entry ? 1 : -1));
  chain.push(target);
  const temp = path.join(sharedTempDir(root), `.~wizard-restore-${randomBytes(6).toString('hex')}.tmp`);
  const out = openSync(temp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    // The current file's hash in both meanings: entries trashed before identity v2 record SHA-256s (JournalHeader.hashMeaning).
    let hash = await copyCurrent(root, target.path, out);
    for (const e of chain) {
      const journal = readDeltaEntry(root, e.entry);
      if (journal.header.newHash !== inMeaningOf(journal.header, hash)) {
        if (e !== target) continue;
        throw brokenChain(target);
      }
      await putOldBytesBack(out, journal);
      const rebuilt = await bothHashesOf(out, journal.header.oldSize);
      if (rebuilt === undefined || inMeaningOf(journal.header, rebuilt) !== journal.header.oldHash) throw new WizardError('USAGE', `cannot rebuild ${target.path} from ${e.entry}: the result does not match the version it records; nothing was changed`);
      hash = rebuilt;
    }
    await syncFd(out);
    return temp;
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  } finally {
    closeSync(out);
  }
}

function brokenChain(target: DeltaEntry): WizardError {
  return new WizardError(
    'USAGE',
    `cannot restore ${target.path} from ${target.entry}: it is kept as the changes back from the version that replaced it, and ${target.path} has been replaced or changed since in a way the trash holds no changes for; nothing was changed`,
  );
}

/** Copies the current file at `rel` into `out` (opened by descriptor with the dirs above it checked); returns its hash in both meanings. */
async function copyCurrent(root: string, rel: string, out: number): Promise<BothHashes> {
  let fd: number;
  try {
    if (!realAncestors(root, rel)) throw new Error('a dir above it is a link');
    fd = openSync(resolveOnDisk(root, rel), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    // Gone, or a link now: the chain back from the current file is broken. Anything else (EACCES, EMFILE) is not that, and says what it is.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined && code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') {
      throw new Error(`cannot open ${rel} to rebuild its old version from: ${describeError(err)}; nothing was changed`, { cause: err });
    }
    throw new WizardError('USAGE', `cannot restore ${rel}: its trash entry is kept as the changes from the version that replaced it, and ${rel} is no longer there to apply them to; nothing was changed`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new WizardError('USAGE', `cannot restore ${rel}: it is no longer a file; nothing was changed`);
    const hash = new BothHasher();
    const buf = Buffer.allocUnsafe(COPY_CHUNK);
    for (let at = 0; ; ) {
      const { bytesRead } = await readAt(fd, buf, 0, COPY_CHUNK, at);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      for (let done = 0; done < bytesRead; ) done += (await writeAt(out, buf, done, bytesRead - done, at + done)).bytesWritten;
      at += bytesRead;
    }
    return hash.digest();
  } finally {
    closeSync(fd);
  }
}
