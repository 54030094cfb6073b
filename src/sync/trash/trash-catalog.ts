/**
 * Reading and pruning a folder's trash: list its entries with their original
 * path, time and cause; restore one; purge old ones. Never follows a
 * symlink: a link in the trash is an entry (or is skipped), never a way out.
 */
import { lstat, readdir, readFile, rename, rm, rmdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WizardError } from '../../core/errors.js';
import { parentOf, resolveInside, toRelPath } from '../../core/paths.js';
import { rebuildFromDeltas } from '../patch/restore.js';
import { realDirs, type Trash, TRASH_DIR, TRASH_INDEX, type TrashCause, type TrashRecord } from './trash.js';

/** One entry of a folder's trash. */
export interface TrashEntry {
  /** The entry's path inside the trash dir (POSIX): `<original>~<stamp>[-n]`. */
  readonly entry: string;
  /** The original folder-relative path. */
  readonly path: string;
  /** When it was trashed, by the local clock then (from the name). */
  readonly trashedAtMs: number;
  /** Why; 'unknown' for entries from before causes were recorded. */
  readonly cause: TrashCause | 'unknown';
  readonly type: 'file' | 'symlink' | 'dir';
  /** What the entry costs on disk: the whole old file, or for a reverse delta only the old bytes of the ranges a patch in place overwrote. */
  readonly size: number;
  /** A whole copy of the old version, or a reverse delta from the version that replaced it (patch/restore.ts rebuilds it). */
  readonly form: 'whole' | 'reverse-delta';
}

const STAMPED = /^(.+)~(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-(\d{3})(?:-\d{1,3})?$/;
const DAY_MS = 86_400_000;

/** Splits a trash entry name into its original path and time; undefined when it is not one. */
export function parseTrashName(entry: string): { path: string; trashedAtMs: number } | undefined {
  const m = STAMPED.exec(entry);
  if (!m) return undefined;
  const [, rel, y, mo, d, h, mi, s, ms] = m.map((x) => x ?? '');
  const at = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms));
  return Number.isFinite(at) && rel !== undefined ? { path: rel, trashedAtMs: at } : undefined;
}

/** Entries trashed more than `days` before `nowMs`. An entry stamped in the future (the clock went back) is never old. */
export function olderThan(entries: readonly TrashEntry[], nowMs: number, days: number): TrashEntry[] {
  return entries.filter((e) => nowMs - e.trashedAtMs > days * DAY_MS);
}

/**
 * The oldest entries to purge so that the rest take at most `maxBytes` on
 * disk; none when `maxBytes` is 0 (no cap). `entries` oldest first, as
 * listTrash gives them. Oldest first keeps every reverse delta rebuildable:
 * it is rebuilt through the newer entries of its path, never the older ones.
 */
export function overCap(entries: readonly TrashEntry[], maxBytes: number): TrashEntry[] {
  if (maxBytes <= 0) return [];
  let total = entries.reduce((n, e) => n + e.size, 0);
  const out: TrashEntry[] = [];
  for (const e of entries) {
    if (total <= maxBytes) break;
    out.push(e);
    total -= e.size;
  }
  return out;
}

async function isEmptyDir(abs: string): Promise<boolean> {
  return (await readdir(abs).catch(() => ['?'])).length === 0;
}

/** Every entry in the trash of the folder at `root`, oldest first. */
export async function listTrash(root: string): Promise<TrashEntry[]> {
  if (!(await isRealTrash(root))) return [];
  const causes = await readCauses(root);
  const out: TrashEntry[] = [];
  const walk = async (dirRel: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(path.join(root, TRASH_DIR, ...dirRel.split('/').filter(Boolean)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new WizardError('INTERNAL', `cannot read the trash at ${root}: ${(err as Error).message}`, { cause: err });
    }
    for (const name of names) {
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      const st = await lstat(path.join(root, TRASH_DIR, ...rel.split('/'))).catch((err: NodeJS.ErrnoException) => {
        // Purged or restored by someone else while we listed: no longer an entry.
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (st === undefined) continue;
      const parsed = parseTrashName(rel);
      // The trash only ever moves in empty dirs, so a dir with contents is a parent of entries, whatever its
      // name says: a synced dir may well be called `x~20000101-000000-000`, and purging it whole would take
      // everything trashed below it.
      if (st.isDirectory() && (parsed === undefined || !(await isEmptyDir(path.join(root, TRASH_DIR, ...rel.split('/')))))) {
        await walk(rel);
      } else if (parsed !== undefined) {
        const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'file';
        const record = causes.get(rel);
        out.push({
          entry: rel,
          path: parsed.path,
          trashedAtMs: parsed.trashedAtMs,
          cause: record?.cause ?? 'unknown',
          type,
          size: type === 'file' ? st.size : 0,
          form: record?.form === 'reverse-delta' && type === 'file' ? 'reverse-delta' : 'whole',
        });
      }
    }
  };
  await walk('');
  return out.sort((a, b) => a.trashedAtMs - b.trashedAtMs || (a.entry < b.entry ? -1 : 1));
}

/**
 * True when `.wizard/trash` exists as a real dir under a real `.wizard`;
 * false when it does not exist. A symlink on the way is refused with an
 * error: listing through it would let a purge delete files elsewhere.
 */
async function isRealTrash(root: string): Promise<boolean> {
  let dir = root;
  for (const part of TRASH_DIR.split(path.sep)) {
    dir = path.join(dir, part);
    const st = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st === undefined) return false;
    if (!st.isDirectory()) throw new WizardError('BAD_PATH', `${dir} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; Wizard's trash never follows links`);
  }
  return true;
}

async function readCauses(root: string): Promise<Map<string, Pick<TrashRecord, 'cause' | 'form'>>> {
  const causes = new Map<string, Pick<TrashRecord, 'cause' | 'form'>>();
  let text = '';
  try {
    text = await readFile(path.join(root, TRASH_INDEX), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const r = JSON.parse(line) as Partial<TrashRecord>;
      if (typeof r.entry === 'string' && typeof r.cause === 'string') causes.set(r.entry, { cause: r.cause, ...(r.form === 'reverse-delta' ? { form: r.form } : {}) });
    } catch {
      // A line cut short by a crash mid-append: that entry's cause reads as unknown.
    }
  }
  return causes;
}

/**
 * Drops the records of `gone` entries from the trash index, so it does not
 * grow forever. Works on the raw lines, so a record the daemon appended
 * since the entries were listed is kept.
 */
async function dropFromIndex(root: string, gone: ReadonlySet<string>): Promise<void> {
  const file = path.join(root, TRASH_INDEX);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const kept = text.split('\n').filter((line) => {
    if (line === '') return false;
    try {
      return !gone.has(String((JSON.parse(line) as Partial<TrashRecord>).entry));
    } catch {
      return false;
    }
  });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, kept.map((l) => `${l}\n`).join(''), { mode: 0o600 });
  await rename(tmp, file);
}

/** Removes `victims` from the trash at `root`; returns the bytes freed. Links are removed, never followed. */
export async function purgeEntries(root: string, victims: readonly TrashEntry[]): Promise<number> {
  if (victims.length === 0) return 0;
  let freed = 0;
  for (const v of victims) {
    await rm(path.join(root, TRASH_DIR, ...v.entry.split('/')), { recursive: true, force: true });
    freed += v.size;
  }
  await pruneEmptyDirs(path.join(root, TRASH_DIR));
  await dropFromIndex(root, new Set(victims.map((v) => v.entry)));
  return freed;
}

/** Removes dirs left empty below `dir` (not `dir` itself); symlinks are not dirs here. */
async function pruneEmptyDirs(dir: string, isTop = true): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return false;
  }
  let left = names.length;
  for (const name of names) {
    const abs = path.join(dir, name);
    const st = await lstat(abs);
    if (st.isDirectory() && parseTrashName(name) === undefined && (await pruneEmptyDirs(abs, false))) left--;
  }
  if (left > 0 || isTop) return false;
  try {
    await rmdir(dir);
    return true;
  } catch {
    // Something was trashed into it meanwhile: it stays, which is right.
    return false;
  }
}

/** What a restore did. */
export interface RestoreResult {
  readonly entry: string;
  /** Where the content now is (folder-relative). */
  readonly path: string;
  /** The trash entry that now holds what was at `path` before, if anything was. */
  readonly replacedInto?: string;
}

/**
 * Moves a trash entry back to `targetRel` (its original path by default). What
 * is at the target now goes to the trash first, so a restore loses nothing.
 * The restored file gets the current time as mtime: it is a new local edit,
 * which the daemon's scanner picks up and sends to the peers.
 */
export async function restoreEntry(root: string, trash: Trash, entry: TrashEntry, targetRel?: string, nowMs = Date.now()): Promise<RestoreResult> {
  const rel = toRelPath(targetRel ?? entry.path);
  const target = resolveInside(root, rel);
  const parent = parentOf(rel);
  // A symlinked parent would send the restored file outside the folder.
  await realDirs(root, parent === '' ? [] : parent.split('/'));
  let replacedInto: string | undefined;
  const existing = await lstat(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (existing?.isDirectory()) throw new WizardError('USAGE', `${rel} is a directory; restore with --as NEWPATH`);
  // Kept by a link, then renamed over: the path never goes missing, so no peer sees a deletion in between.
  const source = path.join(root, TRASH_DIR, ...entry.entry.split('/'));
  // A reverse delta is rebuilt first, from the file that is there now: refused, with nothing changed, when it cannot be.
  const rebuilt = entry.form === 'reverse-delta' ? await rebuildFromDeltas(root, await listTrash(root), entry) : undefined;
  if (existing !== undefined) replacedInto = path.relative(path.join(root, TRASH_DIR), await trash.preserve(target, rel, 'restored-over')).split(path.sep).join('/');
  await rename(rebuilt ?? source, target);
  // rename() between two links of one inode succeeds without doing anything; the entry is restored all the same.
  if ((await lstat(source).catch(() => undefined)) !== undefined) await rm(source, { force: true });
  if (entry.type === 'file') await utimes(target, new Date(nowMs), new Date(nowMs));
  await dropFromIndex(root, new Set([entry.entry]));
  return { entry: entry.entry, path: rel, ...(replacedInto === undefined ? {} : { replacedInto }) };
}
