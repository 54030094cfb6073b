/**
 * Carries out reconcile decisions on disk, one path at a time, following the
 * write rule: new content goes to a temp file in the folder's `.wizard/tmp`
 * (temp-place.ts), is verified, fsynced and given its mtime and mode; then,
 * with the folder lock held, the disk is checked to still match the index,
 * the old content is kept in the trash, the temp file is renamed over the
 * target in the same synchronous step as the last check, the dir is fsynced,
 * and only then is the index updated.
 *
 * Every change to the user's tree (a rename, a mkdir, a link, a removal) is
 * made in one synchronous step with the check of the dirs above it: a peer
 * can have our own landings swap a dir for a link while another of its
 * downloads waits, and an await between a check and its call would let that
 * swap in. The checks themselves are disk-checks.ts; the entry recorded for
 * what landed, landed-entry.ts.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import {
  closeSync,
  fstatSync,
  linkSync,
  mkdirSync,
  rmSync,
  unlinkSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { crashPoint } from '../../core/crash-point.js';
import { isNoSpace, WizardError } from '../../core/errors.js';
import { tempNameFor } from '../../core/paths.js';
import type { FileEntry, LocalEntry } from '../../index/entry.js';
import { hasRealAncestors, realAncestors } from '../../index/real-path.js';
import type { StatKey } from '../../index/hash.js';
import type { VersionVector } from '../../versions/vector.js';
import type { Signature } from '../../delta/signature.js';
import type { DeltaDeps } from './delta-fetch.js';
import { download, fileMode, noSpaceError, type Downloaded } from './fetch.js';
import { copyFromLocal } from './local-source.js';
import type { GroupCommit } from './group-commit.js';
import { numberedCopy } from '../conflicts/conflict.js';
import { linkTargetEscape, linkTargetProblem } from '../disk/link-target.js';
import { createTempLink, openToRead, placeTemp, removeTemp, tempPlaceFor } from '../disk/temp-place.js';
import type { Trash } from '../trash/trash.js';
import { removeEmptyDir } from '../disk/empty-dir.js';
export { caseVariant } from '../disk/case-variant.js';
import { patchInPlace, type PatchHooks } from '../patch/apply.js';
import { absOf, changed, diskOf, ensureParent, expectDecidedOn, expectStill, expectUnchanged } from './disk-checks.js';
import { recorded, recordedAs } from './landed-entry.js';
import { chmodDirNow, pulledDirMode, pulledFileMode, restampFileNow } from '../disk/permissions.js';

/** What applying a decision needs from the folder; the download part (peers, workers, abort signal) is DeltaDeps. */
export interface PullContext extends DeltaDeps {
  readonly root: string;
  /** This process's umask: what it lets through of a peer's permission bits (see permissions.ts). */
  readonly umask: number;
  readonly trash: Trash;
  /** Our current entry for a path. */
  readonly getLocal: (rel: string) => LocalEntry | undefined;
  /** Where a path is on disk: under its recorded name when that is not NFC (see disk-names.ts); the path itself by default. */
  readonly onDisk?: (rel: string) => string;
  /** The mode of a missing dir made above a pulled path (see DiskView.parentMode). */
  readonly parentMode?: (dir: string) => number | undefined;
  /** Runs `fn` holding the folder's commit lock (scans commit under the same lock). */
  readonly locked: <T>(fn: () => Promise<T> | T) => Promise<T>;
  /** Records entries in the index (called with the lock held). */
  readonly commit: (entries: Array<Omit<LocalEntry, 'sequence'>>) => void;
  /** Lands a pulled path: its last step under the lock, then the dir fsync and the index commit, batched with others. */
  readonly landing: GroupCommit;
  /** One of our live files with this content, to copy instead of fetching (a rename or copy made on a peer). */
  readonly findByHash?: (hash: string) => LocalEntry | undefined;
  /** A new local file appeared that a scan should record (a conflict copy). */
  readonly created?: (rel: string) => void;
  /** Stored block sums of our content `hash` at `rel`. */
  readonly storedSums: (rel: string, hash: string) => Signature | undefined;
  /** Records the block sums of content `hash` at `rel` (called with the lock held, after `commit`). */
  readonly commitSums: (rel: string, hash: string, sums: Signature) => void;
  /** Test seams of a patch in place (patch/apply.ts). */
  readonly patchHooks?: PatchHooks;
  /** Halts the folder (a half-patched file that cannot be put back now: see patch/apply.ts). */
  readonly halt?: (reason: string) => void;
}

/** How to treat what is at the path now. */
export interface TakeOptions {
  /**
   * Sequence of our entry when the decision was made (0: we had none). If
   * the index has moved since (a scan recorded a local edit), the decision is
   * stale and must be made again: acting on it could bury that edit.
   */
  readonly basedOn?: number;
  /**
   * Our version lost a conflict: keep it beside the winner under this
   * folder-relative name (a conflict copy that then syncs like any file)
   * instead of only in the trash.
   */
  readonly keepLocalAs?: string;
  /** Told the name the conflict copy got (`keepLocalAs` or a numbered variant), once it has it. */
  readonly onKept?: (copyRel: string) => void;
  /** The content is all here (in a temp file); what remains is local: fsync, rename, record. */
  readonly onFetched?: () => void;
  /**
   * The disk at the path differs from the index exactly like this (a file
   * that looks unflushed after a power cut, see looksUnflushed): it may be
   * replaced all the same, and is kept as `keepLocalAs` (or in the trash). The
   * recorded content is fetched even when the index says it is here.
   */
  readonly acceptDisk?: StatKey;
}

/** Makes the local path match `entry` and records it at `version`. Throws CHANGED when the disk moved under us. */
export async function applyTake(
  ctx: PullContext,
  entry: FileEntry,
  version: VersionVector,
  sources: readonly string[],
  opts: TakeOptions = {},
): Promise<void> {
  if (entry.deleted) return applyDelete(ctx, entry.path, version, opts);
  switch (entry.type) {
    case 'dir':
      return applyDir(ctx, entry, version, opts);
    case 'symlink':
      return applySymlink(ctx, entry, version, opts);
    case 'file':
      // A full disk can also surface after the download (the fsync, the trash's record): one clear line either way.
      // The peer's mode through our umask from here on (see permissions.ts): the download stamps the temp file with it.
      return applyFile(ctx, { ...entry, mode: pulledFileMode(entry.mode, ctx.umask) }, version, sources, opts).catch((err: unknown) => {
        throw isNoSpace(err) ? noSpaceError(entry, err) : err;
      });
  }
}

/** Records a merged version for content we already have. */
export async function applyMerge(ctx: PullContext, rel: string, version: VersionVector, opts: TakeOptions = {}): Promise<void> {
  await ctx.locked(() => {
    expectDecidedOn(ctx, rel, opts.basedOn);
    const local = ctx.getLocal(rel);
    if (local !== undefined) ctx.commit([{ ...local, version }]);
  });
}

async function applyFile(ctx: PullContext, entry: FileEntry, version: VersionVector, sources: readonly string[], opts: TakeOptions): Promise<void> {
  const local = ctx.getLocal(entry.path);
  if (local !== undefined && !local.deleted && local.type === 'file' && local.hash === entry.hash && opts.acceptDisk === undefined) {
    // Same bytes already here (for example the other side of a resolved conflict): only metadata moves.
    await ctx.locked(() => {
      expectDecidedOn(ctx, entry.path, opts.basedOn);
      // One synchronous step from the look to the change, so none of our other operations can move the path between.
      const current = expectUnchanged(ctx, entry.path);
      if (current === undefined || current.type !== 'file') throw changed(entry.path);
      const abs = absOf(ctx, entry.path);
      // Through a descriptor on the inode just checked: chmod and utimes by path would follow a link another process put there.
      const stamped = restampFileNow(abs, current.inode, fileMode(entry.mode), entry.mtimeMs);
      if (stamped === undefined) throw changed(entry.path);
      ctx.commit([recordedAs(entry, version, stamped)]);
    });
    return;
  }
  ensureParent(ctx, entry.path);
  const place = tempPlaceFor(ctx.root, diskOf(ctx, entry.path), true);
  const source = ctx.findByHash?.(entry.hash);
  const copied = source === undefined ? undefined : await copyFromLocal(place, entry, source, ctx.runner);
  let fetched: Downloaded;
  if (copied !== undefined) {
    fetched = copied;
    opts.onFetched?.();
  } else {
    const basis = openBasis(ctx, entry.path);
    try {
      // A big file that keeps most blocks where they are is patched in place (patch/apply.ts); a losing version kept as a conflict copy needs its whole file.
      const patch = basis === undefined || opts.keepLocalAs !== undefined || opts.acceptDisk !== undefined ? undefined : await patchInPlace(ctx, patchJob(ctx, entry, version, sources, basis, opts));
      if (patch?.patched === true) return;
      fetched = await download(place, entry, sources, basis === undefined ? undefined : { ...basis, plan: patch?.plan }, ctx, opts.onFetched);
    } finally {
      if (basis !== undefined) closeSync(basis.fd);
    }
  }
  const { temp, sums, stat } = fetched;
  let placed = false;
  try {
    // The temp file is complete, stamped and fsynced (download and copyFromLocal see to it).
    // Crash point: the new content is whole and durable in the temp file; the target is still the old one.
    crashPoint('after-temp-fsync');
    await ctx.landing.land(async () => {
      expectDecidedOn(ctx, entry.path, opts.basedOn);
      await replaceWith(ctx, entry.path, temp, opts);
      placed = true;
      const landing = { entries: [recordedAs(entry, version, stat)], dir: path.dirname(absOf(ctx, entry.path)) };
      return sums === undefined ? landing : { ...landing, after: () => ctx.commitSums(entry.path, entry.hash, sums) };
    });
  } finally {
    if (!placed) await removeTemp(place, temp);
  }
}

async function applySymlink(ctx: PullContext, entry: FileEntry, version: VersionVector, opts: TakeOptions): Promise<void> {
  const refused = linkTargetProblem(entry.path, entry.target);
  if (refused !== undefined) throw refusedLink(entry, refused);
  ensureParent(ctx, entry.path);
  const place = tempPlaceFor(ctx.root, diskOf(ctx, entry.path), true);
  const temp = await createTempLink(place, tempNameFor(place.stem, randomBytes(4).toString('hex')), entry.target);
  let placed = false;
  try {
    await ctx.landing.land(async () => {
      expectDecidedOn(ctx, entry.path, opts.basedOn);
      // Where the link leads depends on the links on disk now, so it is judged in the step that creates it.
      await replaceWith(ctx, entry.path, temp, opts, () => {
        const escape = linkTargetEscape(ctx.root, diskOf(ctx, entry.path), entry.target);
        if (escape !== undefined) throw refusedLink(entry, escape);
      });
      placed = true;
      const abs = absOf(ctx, entry.path);
      return { entries: [recorded(abs, entry, version)], dir: path.dirname(abs) };
    });
  } finally {
    if (!placed) await removeTemp(place, temp);
  }
}

/** A link a peer sent that is not created, and why: shown in status and by `status --why`. */
function refusedLink(entry: FileEntry, why: string): WizardError {
  return new WizardError('BAD_PATH', `${entry.path}: not creating a symlink to '${entry.target}', which points outside the folder or into Wizard's own dir: ${why}`);
}

async function applyDir(ctx: PullContext, entry: FileEntry, version: VersionVector, opts: TakeOptions): Promise<void> {
  const abs = absOf(ctx, entry.path);
  ensureParent(ctx, entry.path);
  await ctx.locked(async () => {
    expectDecidedOn(ctx, entry.path, opts.basedOn);
    const current = expectUnchanged(ctx, entry.path);
    if (current !== undefined && current.type !== 'dir' && opts.keepLocalAs !== undefined) {
      // Our concurrent file lost to a dir: it moves to its conflict name, a second name first so it is never without one.
      const copy = secondName(ctx, entry.path, opts.keepLocalAs);
      try {
        // A save landing after our checks (an editor's rename) must not be unlinked: it has no other name.
        expectStill(ctx, entry.path, current);
      } catch (err) {
        removeNow(ctx.root, diskOf(ctx, copy.rel), copy.abs);
        throw err;
      }
      ctx.created?.(copy.rel);
      opts.onKept?.(copy.rel);
      unlinkSync(abs);
    } else if (current !== undefined && current.type !== 'dir') {
      await ctx.trash.moveIn(abs, entry.path, 'replaced', () => expectStill(ctx, entry.path, current));
    }
    // The parent chain once more, in the step that makes and stamps the dir: through a dir swapped for a link both would act outside the folder.
    if (!realAncestors(ctx.root, diskOf(ctx, entry.path))) throw changed(entry.path);
    if (current?.type !== 'dir') mkdirSync(abs);
    chmodDirNow(abs, pulledDirMode(entry.mode, ctx.umask));
    ctx.commit([recorded(abs, entry, version)]);
  });
}

async function applyDelete(ctx: PullContext, rel: string, version: VersionVector, opts: TakeOptions): Promise<void> {
  const abs = absOf(ctx, rel);
  await ctx.landing.land(async () => {
    expectDecidedOn(ctx, rel, opts.basedOn);
    const local = ctx.getLocal(rel);
    if (local === undefined) return { entries: [] };
    const current = expectUnchanged(ctx, rel, opts.acceptDisk);
    if (current?.type === 'dir') removeEmptyDir(ctx.root, diskOf(ctx, rel));
    else if (current !== undefined) await ctx.trash.moveIn(abs, rel, 'deleted', () => expectStill(ctx, rel, current));
    return { entries: [{ ...local, size: 0, hash: '', target: '', deleted: true, version, inode: 0 }], dir: path.dirname(abs) };
  }, { alone: true });
}

/**
 * Renames `temp` over `rel`, keeping whatever was there in the trash (or as a
 * conflict copy). `also` is a last look that must hold in the step that
 * renames (a link's destination). Must be called with the lock held; the
 * caller fsyncs the dir.
 */
async function replaceWith(ctx: PullContext, rel: string, temp: string, opts: TakeOptions, also?: () => void): Promise<void> {
  const abs = absOf(ctx, rel);
  const current = expectUnchanged(ctx, rel, opts.acceptDisk);
  /** A second name made for the old version (conflict copy or trash entry), undone if we do not go on. */
  let kept: string | undefined;
  /** The conflict copy's folder-relative name, when the old version got one. */
  let copyRel: string | undefined;
  if (current?.type === 'dir') {
    // A dir becomes a file or link.
    removeEmptyDir(ctx.root, diskOf(ctx, rel));
  } else if (current !== undefined && opts.keepLocalAs !== undefined) {
    // A second name for the losing version first, so at no moment is either version without a name.
    const copy = secondName(ctx, rel, opts.keepLocalAs);
    [kept, copyRel] = [copy.abs, copy.rel];
  } else if (current !== undefined) {
    kept = await ctx.trash.preserve(abs, rel);
  }
  try {
    // The last look and the rename in one synchronous step (temp-place.ts): nothing of ours runs between.
    // Nothing was there and nothing was done since expectUnchanged looked, but its "nothing" may be a
    // parent gone or swapped for a link, which placeTemp checks.
    placeTemp(ctx.root, diskOf(ctx, rel), temp, () => {
      if (current !== undefined) expectStill(ctx, rel, current.type === 'dir' ? undefined : current);
      also?.();
    });
    // Crash point: the target is the new content, but neither its dir is fsynced nor the index told.
    crashPoint('after-rename');
  } catch (err) {
    // The user's file stays where it is, under its own name: the extra name would only be a stray copy.
    if (kept !== undefined) await rm(kept, { force: true });
    throw err;
  }
  if (copyRel !== undefined) {
    ctx.created?.(copyRel);
    opts.onKept?.(copyRel);
  }
}

/** Numbered names tried for a conflict copy when its name is taken, before giving up. */
const MAX_COPY_NAMES = 100;

/**
 * Gives our file at `rel` a second name (a conflict copy): `copyRel`, or the
 * first of its numbered variants that is free (numberedCopy), in one step
 * with the check of the dirs above both. Never replaces anything: a name in
 * use (a copy made in the same second, or one a peer squatted) is passed by.
 * Returns the name it took.
 */
function secondName(ctx: PullContext, rel: string, copyRel: string): { rel: string; abs: string } {
  if (!realAncestors(ctx.root, diskOf(ctx, rel)) || !realAncestors(ctx.root, diskOf(ctx, copyRel))) throw changed(rel);
  for (let n = 1; n <= MAX_COPY_NAMES; n++) {
    const name = n === 1 ? copyRel : numberedCopy(copyRel, n);
    const abs = absOf(ctx, name);
    try {
      linkSync(absOf(ctx, rel), abs);
      return { rel: name, abs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new WizardError('CHANGED', `${rel}: cannot keep this node's version as a conflict copy: ${copyRel} and its ${MAX_COPY_NAMES - 1} numbered variants all exist; move some of them away and it is retried`);
}

/** Removes `abs` (the path of `rel`, as spelled on disk) unless a dir above it changed meanwhile. */
function removeNow(root: string, rel: string, abs: string): void {
  if (hasRealAncestors(root, rel)) rmSync(abs, { force: true });
}

/**
 * Our current file at `rel` as a delta basis, open for reading, only while
 * it is exactly what the index recorded (a file being edited right now would
 * give wrong blocks; the hash check would catch them, but only after a wasted
 * transfer). Opened now, before the download's waits, and checked by its
 * inode: a path opened after them could lead out of the folder (temp-place.ts).
 */
function openBasis(ctx: PullContext, rel: string): OpenBasis | undefined {
  const local = ctx.getLocal(rel);
  if (local === undefined || local.deleted || local.type !== 'file') return undefined;
  const fd = openToRead(ctx.root, diskOf(ctx, rel), local);
  return fd === undefined ? undefined : { fd, sums: ctx.storedSums(rel, local.hash), stat: fstatSync(fd), hash: local.hash };
}

/** Our current file, open (see openBasis), with its stored sums, its fstat when opened and its hash in the index. */
interface OpenBasis {
  readonly fd: number;
  readonly sums: Signature | undefined;
  readonly stat: Stats;
  readonly hash: string;
}

/** What patchInPlace needs to patch `entry` into `basis` and record it, with the puller's checks under the lock. */
function patchJob(ctx: PullContext, entry: FileEntry, version: VersionVector, sources: readonly string[], basis: OpenBasis, opts: TakeOptions) {
  return {
    entry,
    sources,
    basis,
    disk: diskOf(ctx, entry.path),
    mode: fileMode(entry.mode),
    recheck: () => {
      expectDecidedOn(ctx, entry.path, opts.basedOn);
      if (expectUnchanged(ctx, entry.path)?.type !== 'file') throw changed(entry.path);
    },
    record: (st: Stats) => recordedAs(entry, version, st),
    ...(opts.onFetched === undefined ? {} : { onFetched: opts.onFetched }),
  };
}
