/**
 * Patching a big file in place (docs/DELTA.md, "Patching in place"): when the
 * new version keeps most blocks at the same offsets, only the changed ranges
 * are written into our file, instead of a whole new copy in a temp file.
 *
 * The order keeps both promises of the write rule:
 * 1. fetch the changed ranges and check, before touching anything, that our
 *    kept bytes plus them hash to the announced content;
 * 2. under the folder lock, open the file by descriptor in one step with the
 *    check of the dirs above it, and check by fstat that it is still the
 *    inode, size, mtime and ctime we verified (a local writer meanwhile: CHANGED,
 *    and the rescan that follows makes it a conflict);
 * 3. write the old bytes of every range to be overwritten to an undo journal
 *    in `.wizard/journal` and fsync it (and its dir);
 * 4. write the new ranges, cut the file to its new size, stamp it, fsync it;
 * 5. look again: a writer that touched the file since leaves it unrecorded;
 * 6. commit the index, then the journal becomes the file's trash entry: a
 *    reverse delta from the new version to the old one.
 * A crash anywhere leaves a journal that patch/recover.ts rolls back at start
 * (or, once committed, moves to the trash), so the file is old or new.
 */
import {
  closeSync,
  constants,
  fchmod,
  fstatSync,
  fsync,
  ftruncate,
  futimes,
  lstatSync,
  openSync,
  read,
  rmSync,
  write,
  type Stats,
} from 'node:fs';
import { promisify } from 'node:util';
import { crashPoint } from '../../core/crash-point.js';
import { describeError, hasCode, WizardError } from '../../core/errors.js';
import { resolveOnDisk } from '../../core/paths.js';
import { rebuiltSums, storesSums, type Signature } from '../../delta/signature.js';
import type { FileEntry, LocalEntry } from '../../index/entry.js';
import { realAncestors } from '../../index/real-path.js';
import type { DeltaDeps } from '../pull/delta-fetch.js';
import { planDelta, type DeltaPlan, type SearchingPlan } from '../pull/delta-plan.js';
import type { GroupCommit } from '../pull/group-commit.js';
import type { Trash } from '../trash/trash.js';
import { rangesToSave, type Journal, type JournalHeader } from './journal.js';
import { writeJournal } from './journal-file.js';
import { inPlaceWrites } from './plan.js';
import { putOldBytesBack, restoreMtime, withoutSequence } from './reverse.js';
import { ContentHasher } from '../../core/content-hash.js';
import { verifyKept } from './verify-kept.js';

const readAt = promisify(read);
const writeAt = promisify(write);
const syncFd = promisify(fsync);
const truncateFd = promisify(ftruncate);
const chmodFd = promisify(fchmod);
const stampFd = promisify(futimes);

/** O_NONBLOCK: a fifo swapped in for the file must not hang the open. */
const PATCH_FLAGS = constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** Bytes read at a time while verifying. */
const READ_CHUNK = 2 * 1024 * 1024;
/** Range requests kept in flight (as fetch.ts). */
const WINDOW = 8;

/** What a patch needs from the puller's context. */
export interface PatchDeps extends DeltaDeps {
  readonly root: string;
  readonly landing: GroupCommit;
  readonly trash: Trash;
  /** Runs `fn` holding the folder's commit lock. */
  readonly locked: <T>(fn: () => Promise<T> | T) => Promise<T>;
  /** Our current entry for a path. */
  readonly getLocal: (rel: string) => LocalEntry | undefined;
  /** Records entries in the index (with the lock held). */
  readonly commit: (entries: Array<Omit<LocalEntry, 'sequence'>>) => void;
  /** Records the block sums of content `hash` at `rel` (under the lock, after the commit). */
  readonly commitSums: (rel: string, hash: string, sums: Signature) => void;
  /** Test seams: a local writer racing the patch, played at these moments (injected faults). */
  readonly patchHooks?: PatchHooks;
  /**
   * Halts the folder (no scan records anything while halted; it resumes
   * through its start, whose recovery rolls the file back): used when a
   * half-patched file cannot be put back now.
   */
  readonly halt?: (reason: string) => void;
}

/** Moments a test can act at during a patch. */
export interface PatchHooks {
  /** The new content is verified; the lock is not yet taken. */
  readonly afterVerify?: () => void | Promise<void>;
  /** The file is patched and fsynced; the last look has not been taken. */
  readonly afterWrite?: () => void | Promise<void>;
  /** A failure after the write is being undone: throwing here plays the put-back failing too. */
  readonly beforeUndo?: () => void;
}

/** One file to patch. */
export interface PatchJob {
  /** The peer's entry, its mode already through our umask. */
  readonly entry: FileEntry;
  readonly sources: readonly string[];
  /** Our current file, open for reading and checked against the index, with its stored sums and its fstat then. */
  readonly basis: { readonly fd: number; readonly sums: Signature | undefined; readonly stat: Stats; readonly hash: string };
  /** The path as spelled on disk. */
  readonly disk: string;
  /** Under the lock, first: throws CHANGED when the decision is stale or the disk moved since the index saw it. */
  readonly recheck: () => void;
  /** The index entry for the patched file, from its fstat. */
  readonly record: (st: Stats) => Omit<LocalEntry, 'sequence'>;
  /** Every byte is here and verified. */
  readonly onFetched?: () => void;
  /** The permission bits to give the file. */
  readonly mode: number;
}

/** What a patch attempt did: patched and recorded, or not patched (then the plan, when one was made, for the temp-file download). */
export type PatchOutcome = { readonly patched: true } | { readonly patched: false; readonly plan?: DeltaPlan | SearchingPlan };

/**
 * Patches `job`'s file in place when its plan allows it (plan.ts), and
 * records it. Throws CHANGED when a local writer got there first; returns
 * `{ patched: false }` when the file should be built in a temp file instead.
 */
export async function patchInPlace(deps: PatchDeps, job: PatchJob): Promise<PatchOutcome> {
  const { entry, basis } = job;
  const current = { size: basis.stat.size, mode: basis.stat.mode, nlink: basis.stat.nlink };
  let plan: DeltaPlan | SearchingPlan;
  try {
    // A search whose result fetches too much to patch in place, even if it finds nothing, is left to the download: it writes what it finds as it goes.
    const defersSearch = (missingBytes: number) => inPlaceWrites([{ kind: 'remote', at: 0, length: missingBytes }], current, entry.size, job.mode) === undefined;
    plan = await planDelta({ peer: job.sources[0] as string, readSums: deps.readSums, runner: deps.runner, bases: [basis.fd], signal: deps.signal, defersSearch, ...(basis.sums === undefined ? {} : { currentSums: basis.sums }) }, entry);
  } catch (err) {
    if (isDeltaProblem(err)) return { patched: false };
    throw err;
  }
  if (plan.kind === 'searching') return { patched: false, plan };
  const writes = inPlaceWrites(plan.ops, current, entry.size, job.mode);
  if (writes === undefined) return { patched: false, plan };
  let fresh: Buffer[];
  let sums: Signature | undefined;
  try {
    fresh = await fetchRanges(deps, job, writes);
    sums = await verify(job, plan, writes, fresh);
  } catch (err) {
    if (isDeltaProblem(err)) return { patched: false };
    throw err;
  }
  job.onFetched?.();
  await deps.patchHooks?.afterVerify?.();
  const patch = new Patch(deps, job, writes, fresh);
  try {
    await deps.landing.land(async () => {
      const st = await patch.apply();
      return { entries: [job.record(st)], ...(sums === undefined ? {} : { after: () => deps.commitSums(entry.path, entry.hash, sums) }) };
    });
  } catch (err) {
    await patch.undo();
    throw err;
  } finally {
    patch.close();
  }
  // Crash point: the index has the new version; the journal is not yet the trash entry (recovery moves it there).
  crashPoint('before-journal-retire');
  await patch.retire();
  return { patched: true };
}

/** Failures after which the file is built the usual way, which has its own fallbacks. */
function isDeltaProblem(err: unknown): boolean {
  return hasCode(err, 'HASH_MISMATCH') || hasCode(err, 'PROTOCOL') || hasCode(err, 'INTERNAL');
}

/** The new bytes of `writes` from the peers, in order. */
async function fetchRanges(deps: PatchDeps, job: PatchJob, writes: ReadonlyArray<readonly [number, number]>): Promise<Buffer[]> {
  const out: Buffer[] = new Array<Buffer>(writes.length);
  let next = 0;
  const worker = async (k: number): Promise<void> => {
    while (next < writes.length) {
      deps.signal?.throwIfAborted();
      const i = next++;
      const [offset, length] = writes[i] as readonly [number, number];
      const peer = job.sources[(i + k) % job.sources.length] as string;
      const data = await deps.readBlock(peer, { path: job.entry.path, hash: job.entry.hash, offset, length });
      if (data.length !== length) throw new WizardError('HASH_MISMATCH', `${job.entry.path}: peer sent ${data.length} bytes at ${offset}, expected ${length}`);
      out[i] = data;
    }
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, writes.length) }, (_, k) => worker(k)));
  return out;
}

/**
 * Hashes the new content as it will be, our kept bytes read through the
 * basis descriptor and the fetched ranges in between, and returns its block
 * sums. Throws HASH_MISMATCH when it is not the announced content: nothing
 * has been touched yet.
 */
async function verify(job: PatchJob, plan: DeltaPlan, writes: ReadonlyArray<readonly [number, number]>, fresh: readonly Buffer[]): Promise<Signature | undefined> {
  const { entry, basis } = job;
  // Leaves and blocks we keep take their digests and sums from our stored ones: only what the patch touches is read.
  const quick = await verifyKept({
    hash: entry.hash,
    size: entry.size,
    oldSize: basis.stat.size,
    oldSums: basis.sums,
    writes,
    fresh,
    read: async (position, length) => {
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await readAt(basis.fd, buf, 0, length, position);
      return buf.subarray(0, bytesRead);
    },
  }).catch((err: unknown) => {
    throw hasCode(err, 'HASH_MISMATCH') ? new WizardError('HASH_MISMATCH', `${entry.path}: content patched from the delta would not match its hash`) : err;
  });
  if (quick !== 'unusable') return quick.sums;
  const hash = new ContentHasher();
  // Blocks kept in place take both sums from our stored ones (prior): only the changed blocks are summed.
  const sums = storesSums(entry.size) ? rebuiltSums(entry.size, plan.reuse, basis.sums) : undefined;
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  let w = 0;
  for (const op of plan.ops) {
    if (op.kind === 'remote') {
      const data = fresh[w++] as Buffer;
      hash.update(data);
      sums?.push(data);
      continue;
    }
    for (let at = op.at; at < op.at + op.length; ) {
      const { bytesRead } = await readAt(basis.fd, buf, 0, Math.min(READ_CHUNK, op.at + op.length - at), at);
      if (bytesRead === 0) throw new WizardError('CHANGED', `${entry.path} shrank while it was being patched; rescanning before deciding again`);
      const piece = buf.subarray(0, bytesRead);
      hash.update(piece);
      sums?.push(piece);
      at += bytesRead;
    }
  }
  const got = hash.finish();
  if (w !== writes.length || got.hash !== entry.hash) throw new WizardError('HASH_MISMATCH', `${entry.path}: content patched from the delta would not match its hash`);
  const sig = sums?.finish(got.leaves);
  return sig === undefined ? undefined : { ...sig, leaves: got.leaves };
}

/** One patch's steps on disk, from the open under the lock to the journal's retirement. */
class Patch {
  private fd: number | undefined;
  private journal: { file: string; content: Journal } | undefined;
  /** The file's bytes have been changed (and not put back). */
  private touched = false;
  /** A writer raced the patch: the file holds its bytes too and is left as it is. */
  private mixed = false;

  constructor(
    private readonly deps: PatchDeps,
    private readonly job: PatchJob,
    private readonly writes: ReadonlyArray<readonly [number, number]>,
    private readonly fresh: readonly Buffer[],
  ) {}

  /** Steps 2 to 5 (see the top of this file), under the lock; returns the patched file's fstat. */
  async apply(): Promise<Stats> {
    const { entry, basis, disk } = this.job;
    this.job.recheck();
    const root = this.deps.root;
    // The dirs above and the open in one synchronous step (temp-place.ts): nothing of ours runs between.
    if (!realAncestors(root, disk)) throw changed(entry.path);
    this.fd = openSync(resolveOnDisk(root, disk), PATCH_FLAGS);
    const before = fstatSync(this.fd);
    if (!sameFile(before, basis.stat)) throw changed(entry.path);
    const header: Omit<JournalHeader, 'oldHash'> = {
      path: entry.path,
      disk,
      dev: before.dev,
      ino: before.ino,
      oldSize: before.size,
      oldMtimeMs: before.mtimeMs,
      newSize: entry.size,
      newHash: entry.hash,
      hashMeaning: 2,
      ranges: rangesToSave(this.writes, before.size, entry.size),
    };
    const old: Buffer[] = [];
    for (const [at, length] of header.ranges) {
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await readAt(this.fd, buf, 0, length, at);
      if (bytesRead !== length) throw changed(entry.path);
      old.push(buf);
    }
    const content: Journal = { header: { ...header, oldHash: basis.hash }, old };
    this.journal = { file: await writeJournal(root, content), content };
    // Crash point: the journal is durable; the file is untouched.
    crashPoint('after-journal-fsync');
    // A writer while the journal was written: its bytes may be in what the journal saved.
    if (!sameFile(fstatSync(this.fd), basis.stat)) throw changed(entry.path);
    this.touched = true;
    for (const [i, [at]] of this.writes.entries()) {
      const data = this.fresh[i] as Buffer;
      for (let done = 0; done < data.length; ) done += (await writeAt(this.fd, data, done, data.length - done, at + done)).bytesWritten;
      // Crash point: some new ranges are in the file, not all; the journal can put the old bytes back.
      crashPoint('mid-patch-write');
    }
    if (entry.size < before.size) await truncateFd(this.fd, entry.size);
    await chmodFd(this.fd, this.job.mode);
    await stampFd(this.fd, new Date(), new Date(entry.mtimeMs));
    await syncFd(this.fd);
    // Crash point: the file is the new version, durable; the index still has the old one.
    crashPoint('after-patch-fsync');
    const patched = fstatSync(this.fd);
    await this.deps.patchHooks?.afterWrite?.();
    // The last look: another writer since our first look shows in size, mtime or ctime, or the path now names another file.
    const now = fstatSync(this.fd);
    const atPath = realAncestors(root, disk) ? lstatSync(resolveOnDisk(root, disk), { throwIfNoEntry: false }) : undefined;
    if (patched.size !== entry.size || !sameFile(now, patched) || atPath?.ino !== now.ino || atPath.dev !== now.dev) {
      this.mixed = true;
      throw new WizardError('CHANGED', `${entry.path} was written by another program while Wizard patched it; it is left as it is and rescanned, and the peer's version will show as a conflict`);
    }
    return patched;
  }

  /** After a failure: puts the old bytes back if the file was touched (unless a writer raced it), and drops the journal. */
  async undo(): Promise<void> {
    if (this.journal === undefined) return;
    if (this.touched && !this.mixed && this.fd !== undefined) {
      try {
        this.deps.patchHooks?.beforeUndo?.();
        await putOldBytesBack(this.fd, this.journal.content);
        await restoreMtime(this.fd, this.job.basis.stat.mtimeMs);
        await syncFd(this.fd);
        await this.recordRestoredMtime(this.fd);
      } catch (err) {
        // The journal stays for the recovery at the next start; until then no scan may record the mixed file.
        this.journal = undefined;
        this.deps.halt?.(`${this.job.entry.path} was left half patched and putting its old bytes back failed (${describeError(err)}); the folder pauses, and rolls it back when it resumes`);
        return;
      }
    }
    rmSync(this.journal.file, { force: true });
    this.journal = undefined;
  }

  /**
   * The old bytes are back, but their mtime may be a few nanoseconds off the
   * index's (see restoreMtime), which a scan would take for a touch: a new
   * version of ours, then a conflict with the peer's. The index gets the disk's.
   */
  private async recordRestoredMtime(fd: number): Promise<void> {
    const st = fstatSync(fd);
    await this.deps.locked(() => {
      const local = this.deps.getLocal(this.job.entry.path);
      if (local === undefined || local.deleted || local.hash !== this.job.basis.hash || local.inode !== st.ino || local.mtimeMs === st.mtimeMs) return;
      this.deps.commit([withoutSequence({ ...local, mtimeMs: st.mtimeMs })]);
    });
  }

  /** Closes the file's descriptor. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Step 6: the committed patch's journal becomes the file's trash entry. */
  async retire(): Promise<void> {
    if (this.journal === undefined) return;
    await this.deps.trash.keepReverseDelta(this.journal.file, this.job.entry.path);
    this.journal = undefined;
  }
}

/** The same file, unchanged as far as stat can tell: inode, size, mtime and ctime (which every write moves, whatever it sets the mtime to). */
function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

function changed(rel: string): WizardError {
  return new WizardError('CHANGED', `${rel} changed on disk since it was last scanned; rescanning before deciding again`);
}
