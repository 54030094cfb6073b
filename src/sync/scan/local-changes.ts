/**
 * What a scan has to record: compares what the disk holds with what the
 * index says, and builds the entries for the differences. Pure: the folder
 * walks, hashes and commits.
 */
import { isUnder } from '../../core/paths.js';
import type { LocalEntry } from '../../index/entry.js';
import { ownDiskName } from '../../index/disk-names.js';
import { sameStat } from '../../index/hash.js';
import type { ComparedEntry } from '../../index/classify.js';
import { classify, type Observation } from '../../index/scanner.js';
import { bump } from '../../versions/vector.js';

/** A path whose disk state differs from its index entry. `obs` undefined: it is gone from disk. */
export interface Candidate {
  readonly path: string;
  readonly obs: Observation | undefined;
  readonly prev: LocalEntry | undefined;
}

/** Whether what the disk holds at `obs.path` must be recorded against `prev`: it differs, or it is a file `mustHash` names whatever its stat says. */
export function differs(obs: Observation, prev: ComparedEntry | undefined, mustHash: (path: string) => boolean): boolean {
  return classify(obs, prev) !== 'same' || (obs.type === 'file' && mustHash(obs.path));
}

/** Candidates in path order: parents before their contents. */
export function byPath(a: Candidate, b: Candidate): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * Paths to record after walking a subtree: everything seen that differs from
 * its entry, and every live entry no longer seen, except where the path is
 * ignored (it stops syncing but is never deleted on peers) or below a dir the
 * walk could not read (unknown is not deleted), and the files `mustHash`
 * names whatever their stat says. Sorted parents first, so a peer creates
 * dirs before their contents.
 */
export function changedPaths(
  seen: ReadonlyMap<string, Observation>,
  known: ReadonlyMap<string, LocalEntry>,
  unreadable: readonly string[],
  isIgnored: (path: string, isDir: boolean) => boolean,
  mustHash: (path: string) => boolean = () => false,
): Candidate[] {
  const out: Candidate[] = [];
  for (const obs of seen.values()) {
    const prev = known.get(obs.path);
    if (differs(obs, prev, mustHash)) out.push({ path: obs.path, obs, prev });
  }
  for (const prev of known.values()) {
    if (prev.deleted || seen.has(prev.path)) continue;
    if (isIgnored(prev.path, prev.type === 'dir')) continue;
    if (unreadable.some((dir) => isUnder(prev.path, dir))) continue;
    out.push({ path: prev.path, obs: undefined, prev });
  }
  return out.sort(byPath);
}

/**
 * The entry to record for a candidate, given the content hash of a file
 * ('' otherwise). A change bumps our counter in the version vector; the same
 * bytes under a new inode (a restore, a copy-back) only update where the
 * file is, without announcing a new version.
 */
export function entryFor(c: Candidate, hash: string, localId: string, nowMs = 0): Omit<LocalEntry, 'sequence'> | undefined {
  const { obs, prev } = c;
  if (obs === undefined) {
    if (prev === undefined) return undefined;
    return { ...prev, size: 0, hash: '', target: '', deleted: true, inode: 0, version: bump(prev.version, localId, nowMs) };
  }
  const contentSame =
    prev !== undefined && !prev.deleted && prev.type === obs.type && prev.hash === hash && prev.target === obs.target && prev.mode === obs.mode;
  const metaOnly = contentSame && (obs.type !== 'file' || prev.mtimeMs === obs.mtimeMs);
  const version = metaOnly ? prev.version : bump(prev?.version ?? {}, localId, nowMs);
  const diskName = ownDiskName(c.path, obs.diskPath);
  return { path: c.path, type: obs.type, size: obs.size, mtimeMs: obs.mtimeMs, mode: obs.mode, hash, target: obs.target, deleted: false, inode: obs.inode, diskName, version };
}

/** How long after its mtime a file must have been left alone before a size change under that mtime is suspicious (see looksUnflushed). */
export const UNFLUSHED_SETTLE_MS = 5_000;

/**
 * True when a file looks like what a power cut leaves behind: the metadata
 * reached the disk and the data did not (Syncthing #3711). It is shorter than
 * the index says (0 bytes, or an older, shorter content) while its mtime and
 * inode are exactly what the index recorded, so no write happened that the
 * filesystem knows of. A file that grew is not suspected: unflushed data
 * never makes a file longer, and an append whose mtime was set back
 * afterwards (`touch -d`) is an edit to sync (THREATS M3). An in-place
 * truncation with its mtime set back looks the same as a power cut's
 * leftovers and is treated as one: its content is kept as a conflict copy,
 * so nothing is lost either way. Wizard's own
 * writes cannot cause this (the index is committed only after the fsync), and
 * a normal edit moves the mtime. The one normal edit that may keep it is a
 * second write within the mtime's granularity (1-2 s on FAT, ext3, HFS+):
 * that is seen by the watcher within moments, so a file whose mtime is
 * younger than UNFLUSHED_SETTLE_MS is not suspected. Content changed at the
 * same size is not caught here (it looks unchanged to a scan and is never sent).
 */
export function looksUnflushed(c: Candidate, nowMs: number): boolean {
  const { obs, prev } = c;
  if (obs?.type !== 'file' || prev === undefined || prev.deleted || prev.type !== 'file' || prev.hash === '') return false;
  return obs.size < prev.size && obs.mtimeMs === prev.mtimeMs && obs.inode === prev.inode && nowMs - obs.mtimeMs >= UNFLUSHED_SETTLE_MS;
}

/** Observations equal in everything a scan records. */
export function sameObservation(a: Observation | undefined, b: Observation | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.type !== b.type || a.mode !== b.mode || a.target !== b.target) return false;
  // A dir's mtime moves whenever its children change, which says nothing about the dir entry itself.
  return a.type === 'dir' || sameStat(a, b);
}

/** Drops paths covered by another path in the list ('' covers all). Linear in the paths (times their depth): a burst hands over thousands. */
export function minimalRoots(paths: string[]): string[] {
  const unique = new Set(paths);
  if (unique.has('')) return [''];
  const out: string[] = [];
  for (const p of [...unique].sort()) {
    let covered = false;
    for (let slash = p.indexOf('/'); slash >= 0 && !covered; slash = p.indexOf('/', slash + 1)) covered = unique.has(p.slice(0, slash));
    if (!covered) out.push(p);
  }
  return out;
}

/**
 * Tombstones older than `days`, judged by the deleting node's counter: a
 * bump is floored at the time in seconds, so the largest counter of a
 * tombstone tells (at the latest) when the deletion happened. A tombstone
 * whose counters run ahead of our clock is never expired early.
 *
 * Once a tombstone is forgotten, a peer that was away for longer and still
 * has the file brings it back: resurrecting a file deleted long ago is the
 * safe failure, deleting one somebody kept is not.
 */
export function expiredTombstones(entries: Iterable<LocalEntry>, nowMs: number, days: number): string[] {
  const cutoffS = Math.floor(nowMs / 1000) - days * 86_400;
  const out: string[] = [];
  for (const e of entries) {
    if (!e.deleted) continue;
    const newest = Math.max(...Object.values(e.version));
    if (newest < cutoffS) out.push(e.path);
  }
  return out;
}

/**
 * Milliseconds of mtime granularity we guard against: a jiffy of Linux
 * kernels without fine-grained timestamps (4 ms at HZ=250, 10 ms at HZ=100),
 * with room. Coarser filesystems (1 s on ext3, 2 s on FAT) are a documented limit.
 */
export const MTIME_TICK_MS = 30;

/**
 * How long to wait before hashing, at `nowMs`, a file with mtime `mtimeMs`;
 * 0 when it may be hashed now. A file read within one mtime tick of its last
 * write may be written again in the same tick, leaving size, mtime and inode
 * as observed: the hash would then be recorded against a stat that no later
 * scan sees move, so the final content would never be picked up (the "racily
 * clean" entry of git). Read a tick later, any further write shows in the
 * mtime. An mtime in the future (set by hand, or a clock set back) is not a
 * fresh write: no wait.
 */
export function tooFreshToHash(nowMs: number, mtimeMs: number): number {
  const age = nowMs - mtimeMs;
  return age >= 0 && age < MTIME_TICK_MS ? MTIME_TICK_MS - age + 1 : 0;
}
