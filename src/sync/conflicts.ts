/**
 * Conflict copies on disk: `name.sync-conflict-YYYYMMDD-HHMMSS-<node>.ext`,
 * the losing side of two concurrent edits, kept next to the winner. Finding
 * them and resolving one (keep mine, theirs or both) are plain local edits,
 * which the daemon syncs like any other; a discarded side goes to the trash.
 */
import { lstat, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { WizardError } from '../core/errors.js';
import { parentOf, resolveOnDisk, WIZARD_DIR } from '../core/paths.js';
import type { Trash } from './trash.js';

const CONFLICT = /^(.*)\.sync-conflict-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-([A-Za-z0-9]{1,64})(\..*)?$/;

/** What a conflict copy's name says. */
export interface ConflictName {
  /** The path of the file it conflicts with (folder-relative). */
  readonly original: string;
  /** When the conflict was detected (UTC, from the name). */
  readonly atMs: number;
  /** Short ID of the node whose edit lost. */
  readonly node: string;
}

/** Parses a folder-relative path as a conflict copy's; undefined when it is not one. */
export function parseConflictName(rel: string): ConflictName | undefined {
  const base = path.posix.basename(rel);
  const m = CONFLICT.exec(base);
  if (!m) return undefined;
  const [, stem, y, mo, d, h, mi, s, node, ext] = m;
  const at = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (!Number.isFinite(at) || stem === undefined || node === undefined) return undefined;
  const dir = parentOf(rel);
  const name = `${stem}${ext ?? ''}`;
  return { original: dir === '' ? name : `${dir}/${name}`, atMs: at, node };
}

/** Conflict copies of `rel` next to it on disk (folder-relative paths). */
export async function conflictCopiesOf(root: string, rel: string): Promise<string[]> {
  const dir = parentOf(rel);
  let names: string[];
  try {
    names = await readdir(onDisk(root, dir));
  } catch {
    // No parent dir: no copies beside it.
    return [];
  }
  return names
    .map((n) => (dir === '' ? n : `${dir}/${n}`))
    .filter((p) => parseConflictName(p)?.original === rel)
    .sort();
}

/** One side of a conflict as the disk has it now. */
export interface ConflictSide {
  readonly path: string;
  readonly exists: boolean;
  readonly size: number;
  readonly mtimeMs: number;
}

/** A conflict copy and the file it conflicts with. */
export interface Conflict extends ConflictName {
  /** The file at the original path: what this node kept. */
  readonly mine: ConflictSide;
  /** The conflict copy: the other node's version. */
  readonly theirs: ConflictSide;
}

/** The path on disk of `rel`, which a walk of `root` found (so it cannot climb out); listing must show even names Wizard would not sync. */
function onDisk(root: string, rel: string): string {
  return path.join(root, ...rel.split('/'));
}

async function side(root: string, rel: string): Promise<ConflictSide> {
  try {
    const st = await lstat(onDisk(root, rel));
    return { path: rel, exists: true, size: st.isFile() ? st.size : 0, mtimeMs: st.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return { path: rel, exists: false, size: 0, mtimeMs: 0 };
  }
}

/** Every conflict copy in the folder at `root`, by path. Symlinked dirs are not entered; `.wizard` is skipped. */
export async function listConflicts(root: string, signal?: AbortSignal): Promise<Conflict[]> {
  const out: Conflict[] = [];
  const walk = async (dirRel: string): Promise<void> => {
    signal?.throwIfAborted();
    let entries;
    try {
      entries = await readdir(onDisk(root, dirRel), { withFileTypes: true });
    } catch (err) {
      // A dir that vanished or cannot be read holds no conflict we could resolve.
      if (dirRel !== '' && ['ENOENT', 'EACCES', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return;
      throw new WizardError('INTERNAL', `cannot read ${path.join(root, dirRel)}: ${(err as Error).message}`, { cause: err });
    }
    for (const e of entries) {
      const rel = dirRel === '' ? e.name : `${dirRel}/${e.name}`;
      if (rel === WIZARD_DIR) continue;
      if (e.isDirectory()) {
        await walk(rel);
        continue;
      }
      const parsed = parseConflictName(rel);
      if (parsed === undefined) continue;
      // The copy's name was made from the NFC path; the original may be spelled otherwise here (NFD, from a Mac).
      const original = spelledAsListed(entries.map((d) => d.name), dirRel, parsed.original);
      out.push({ ...parsed, original, mine: await side(root, original), theirs: await side(root, rel) });
    }
  };
  await walk('');
  return out.sort((a, b) => (a.theirs.path < b.theirs.path ? -1 : 1));
}

/** `rel` (in `dirRel`) as the listing `names` spells it: itself, or the one name there with its NFC form. */
function spelledAsListed(names: readonly string[], dirRel: string, rel: string): string {
  const name = path.posix.basename(rel);
  if (names.includes(name)) return rel;
  const nfc = name.normalize('NFC');
  const other = names.find((n) => n.normalize('NFC') === nfc);
  return other === undefined ? rel : dirRel === '' ? other : `${dirRel}/${other}`;
}

/** Which side to keep. */
export type KeepChoice = 'mine' | 'theirs' | 'both';

/** What a resolution did, as folder-relative paths. */
export interface Resolution {
  readonly kept: KeepChoice;
  /** The path(s) that now hold the kept content. */
  readonly paths: string[];
  /** Trash entries (paths inside the trash dir) of the discarded side. */
  readonly trashed: string[];
}

/**
 * Resolves one conflict. `mine`: the copy goes to the trash. `theirs`: the
 * original goes to the trash and the copy takes its place. `both`: the copy
 * is renamed `name.from-<node>-<stamp>.ext`, so it stops being a conflict.
 */
export async function resolveConflict(root: string, trash: Trash, c: Conflict, keep: KeepChoice): Promise<Resolution> {
  // Paths as a walk of the disk found them: resolved without normalising, so a name in NFD is found as it is.
  const copyAbs = resolveOnDisk(root, c.theirs.path);
  const trashRel = (abs: string) => path.relative(path.join(root, WIZARD_DIR, 'trash'), abs).split(path.sep).join('/');
  if (keep === 'mine') {
    return { kept: 'mine', paths: [c.original], trashed: [trashRel(await trash.moveIn(copyAbs, c.theirs.path.normalize('NFC'), 'conflict-resolved'))] };
  }
  if (keep === 'theirs') {
    const trashed: string[] = [];
    const mine = await side(root, c.original);
    // A link in the trash, then a rename over the file: the path never goes missing, so no peer sees a deletion.
    if (mine.exists) trashed.push(trashRel(await trash.preserve(resolveOnDisk(root, c.original), c.original.normalize('NFC'), 'conflict-resolved')));
    await rename(copyAbs, resolveOnDisk(root, c.original));
    return { kept: 'theirs', paths: [c.original], trashed };
  }
  const kept = bothName(c);
  if ((await side(root, kept)).exists) throw new WizardError('USAGE', `${kept} already exists; rename the conflict copy by hand`);
  await rename(copyAbs, resolveOnDisk(root, kept));
  return { kept: 'both', paths: [c.original, kept], trashed: [] };
}

/** `dir/name.from-<node>-YYYYMMDD-HHMMSS.ext` for a conflict copy kept beside the original. */
export function bothName(c: Conflict): string {
  const m = CONFLICT.exec(path.posix.basename(c.theirs.path));
  const dir = parentOf(c.theirs.path);
  const name = m === null ? `${path.posix.basename(c.theirs.path)}.kept` : `${m[1] ?? ''}.from-${c.node}-${m[2] ?? ''}${m[3] ?? ''}${m[4] ?? ''}-${m[5] ?? ''}${m[6] ?? ''}${m[7] ?? ''}${m[9] ?? ''}`;
  return dir === '' ? name : `${dir}/${name}`;
}
