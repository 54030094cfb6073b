/**
 * The file-system side of landing many small files, run in a worker thread
 * (pool.ts) with synchronous calls: creating, writing, stamping and fsyncing
 * the temp files of pulled small files, and fsyncing the dirs a batch renamed
 * into.
 *
 * On the daemon's thread each of those calls is either synchronous (and a
 * create or an fsync can wait on the disk behind other files' fsyncs) or a
 * round trip through libuv's pool, whose submission takes the pool's lock:
 * with 32 threads on two busy cores, a SMALL pull spent 3.2 s of the
 * receiver's main thread submitting the temp files' opens alone, 1.2 s their
 * fsyncs, and 1.6 s the dirs' opens, fsyncs and closes (cpu-prof, load
 * 9-18). Here a worker does a batch of them back to back, and the daemon's
 * thread posts one message per batch. The fsyncs of a batch run side by side
 * (through the pool, from the worker's thread): one after the other they
 * would leave the disk's queue empty, and a burst waited on them.
 *
 * Nothing here touches the user's tree: temp files are made in the folder's
 * `.wizard/tmp` (temp-place.ts), and a dir fsync changes nothing.
 */
import { closeSync, constants, fchmodSync, fstatSync, fsync, futimesSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { describeError } from '../core/errors.js';
import { sharedTempDir } from '../sync/disk/temp-place.js';

/** One temp file to make: its absolute path in the folder's `.wizard/tmp`, its bytes (already verified), mode and mtime. */
export interface TempFileJob {
  readonly file: string;
  readonly data: Uint8Array;
  readonly mode: number;
  readonly mtimeMs: number;
}

/** What the finished temp file is, as fstat saw it through its descriptor (what the index records once it is renamed). */
export interface TempFileStat {
  readonly size: number;
  readonly mtimeMs: number;
  readonly mode: number;
  readonly ino: number;
}

/** A failure of one file of a batch: its error's code (errno or Wizard's) and message; the others go on. */
export interface DiskJobFailure {
  readonly code: string;
  readonly message: string;
}

/** Per file, its stat or why it failed. */
export type TempFileResult = { readonly ok: true; readonly stat: TempFileStat } | { readonly ok: false; readonly failure: DiskJobFailure };

// O_EXCL and O_NOFOLLOW: a name that exists, or a link put in its place, is never written through.
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Makes each temp file of `files` in `root`'s `.wizard/tmp`: create (never
 * over an existing name), write, chmod, utimes, then all the fsyncs at once,
 * then fstat and close. A file that fails is removed again and reported; the
 * others are made. The `.wizard` marker and its `tmp` must be real dirs
 * (sharedTempDir), checked once for the batch: if they are not, every file fails.
 */
export async function writeTempsJob(root: string, files: readonly TempFileJob[]): Promise<TempFileResult[]> {
  try {
    sharedTempDir(root);
  } catch (err) {
    const failure = failureOf(err);
    return files.map(() => ({ ok: false, failure }));
  }
  const open = files.map((f) => writeOne(f));
  const synced = await Promise.all(open.map((o) => (typeof o === 'number' ? fsyncFd(o) : Promise.resolve(undefined))));
  return files.map((f, i) => {
    const fd = open[i] as number | DiskJobFailure;
    if (typeof fd !== 'number') return { ok: false, failure: fd };
    try {
      const failed = synced[i];
      if (failed !== undefined) throw failed;
      const st = fstatSync(fd);
      return { ok: true, stat: { size: st.size, mtimeMs: st.mtimeMs, mode: st.mode, ino: st.ino } };
    } catch (err) {
      removeQuietly(f.file);
      return { ok: false, failure: failureOf(err) };
    } finally {
      closeSync(fd);
    }
  });
}

/** Creates, writes and stamps one temp file; its open descriptor, or why it failed (then nothing is left of it). */
function writeOne(f: TempFileJob): number | DiskJobFailure {
  let fd: number;
  try {
    fd = openSync(f.file, CREATE_FLAGS, 0o600);
  } catch (err) {
    return failureOf(err);
  }
  try {
    const data = Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength);
    for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, done);
    fchmodSync(fd, f.mode);
    futimesSync(fd, new Date(), new Date(f.mtimeMs));
    return fd;
  } catch (err) {
    closeSync(fd);
    removeQuietly(f.file);
    return failureOf(err);
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone: nothing to take back.
  }
}

/** fsync through the pool: resolves with the error instead of throwing, so one failure waits for the others. */
function fsyncFd(fd: number): Promise<Error | undefined> {
  return new Promise((resolve) => fsync(fd, (err) => resolve(err ?? undefined)));
}

/** fsyncs each dir of `dirs` (the names just renamed into it), side by side; per dir, undefined or why it failed. */
export async function fsyncDirsJob(dirs: readonly string[]): Promise<Array<DiskJobFailure | undefined>> {
  return Promise.all(
    dirs.map(async (dir) => {
      let fd: number;
      try {
        fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
      } catch (err) {
        return failureOf(err);
      }
      try {
        const failed = await fsyncFd(fd);
        return failed === undefined ? undefined : failureOf(failed);
      } finally {
        closeSync(fd);
      }
    }),
  );
}

function failureOf(err: unknown): DiskJobFailure {
  const code = (err as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : 'INTERNAL', message: describeError(err) };
}
