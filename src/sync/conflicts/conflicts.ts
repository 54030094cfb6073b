/**
 * Conflict copies on disk: `name.sync-conflict-YYYYMMDD-HHMMSS-<node>.ext`,
 * the losing side of two concurrent edits, kept next to the winner. Finding
 * them and resolving one (keep the file, the copy or both) are plain local edits,
 * which the daemon syncs like any other; a discarded side goes to the trash.
 */
import { lstat, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { WizardError } from '../../core/errors.js';
import { parentOf, resolveOnDisk, WIZARD_DIR } from '../../core/paths.js';
import type { Trash } from '../trash/trash.js';

/** `stem.sync-conflict-YYYYMMDD-HHMMSS-<who>.ext`: `who` is checked apart (parseWho), the extension starts at its first dot. */
const CONFLICT = /^(.*)\.sync-conflict-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-([A-Za-z0-9_-]{1,100})(\..*)?$/;
/** What this version writes: `<name>-<7 hex>`, then `-n` for a numbered variant (see numberedCopy). */
const NAMED_WHO = /^(?:([A-Za-z0-9_-]{1,24})-)?([0-9a-f]{7})(?:-(\d{1,3}))?$/;
/** What older versions wrote: the node's short ID alone (any length), then `-n` for a numbered variant. */
const OLD_WHO = /^([A-Za-z0-9]{1,64})(?:-(\d{1,3}))?$/;

/** What a conflict copy's name says. */
export interface ConflictName {
  /** The path of the file it conflicts with (folder-relative). */
  readonly original: string;
  /** When the conflict was detected (UTC, from the name). */
  readonly atMs: number;
  /** Short ID (a prefix of it) of the node whose edit the copy holds. */
  readonly node: string;
  /** That node's name as the copy's name spells it ('' in names older versions made, which carry the ID only). */
  readonly label: string;
}

/** The node part of a copy's name: a name made now, or one an older version made. */
function parseWho(who: string): { node: string; label: string } | undefined {
  const named = NAMED_WHO.exec(who);
  if (named !== null) return { node: named[2] ?? '', label: named[1] ?? '' };
  const old = OLD_WHO.exec(who);
  return old === null ? undefined : { node: old[1] ?? '', label: '' };
}

/** Parses a folder-relative path as a conflict copy's; undefined when it is not one. */
export function parseConflictName(rel: string): ConflictName | undefined {
  const base = path.posix.basename(rel);
  const m = CONFLICT.exec(base);
  if (!m) return undefined;
  const [, stem, y, mo, d, h, mi, s, whoText, ext] = m;
  const at = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const who = whoText === undefined ? undefined : parseWho(whoText);
  if (!Number.isFinite(at) || stem === undefined || who === undefined) return undefined;
  const dir = parentOf(rel);
  const name = `${stem}${ext ?? ''}`;
  return { original: dir === '' ? name : `${dir}/${name}`, atMs: at, ...who };
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
  /** The file at the original path: the edit that won (or one made since). */
  readonly file: ConflictSide;
  /** The conflict copy: the edit that lost, made by `node`. */
  readonly copy: ConflictSide;
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
      out.push({ ...parsed, original, file: await side(root, original), copy: await side(root, rel) });
    }
  };
  await walk('');
  return out.sort((a, b) => (a.copy.path < b.copy.path ? -1 : 1));
}

/** `rel` (in `dirRel`) as the listing `names` spells it: itself, or the one name there with its NFC form. */
function spelledAsListed(names: readonly string[], dirRel: string, rel: string): string {
  const name = path.posix.basename(rel);
  if (names.includes(name)) return rel;
  const nfc = name.normalize('NFC');
  const other = names.find((n) => n.normalize('NFC') === nfc);
  return other === undefined ? rel : dirRel === '' ? other : `${dirRel}/${other}`;
}

/** Which side to keep: the file at the path, the conflict copy, or both under two names. */
export type KeepChoice = 'file' | 'copy' | 'both';

/** What a resolution did, as folder-relative paths. */
export interface Resolution {
  readonly kept: KeepChoice;
  /** The path(s) that now hold the kept content. */
  readonly paths: string[];
  /** Trash entries (paths inside the trash dir) of the discarded side. */
  readonly trashed: string[];
}

/**
 * Resolves one conflict. `file`: the copy goes to the trash. `copy`: the
 * original goes to the trash and the copy takes its place. `both`: the copy
 * is renamed `name.from-<node>-<stamp>.ext`, so it stops being a conflict.
 */
export async function resolveConflict(root: string, trash: Trash, c: Conflict, keep: KeepChoice): Promise<Resolution> {
  // Paths as a walk of the disk found them: resolved without normalising, so a name in NFD is found as it is.
  const copyAbs = resolveOnDisk(root, c.copy.path);
  const trashRel = (abs: string) => path.relative(path.join(root, WIZARD_DIR, 'trash'), abs).split(path.sep).join('/');
  if (keep === 'file') {
    return { kept: 'file', paths: [c.original], trashed: [trashRel(await trash.moveIn(copyAbs, c.copy.path.normalize('NFC'), 'conflict-resolved'))] };
  }
  if (keep === 'copy') {
    const trashed: string[] = [];
    const file = await side(root, c.original);
    // A link in the trash, then a rename over the file: the path never goes missing, so no peer sees a deletion.
    if (file.exists) trashed.push(trashRel(await trash.preserve(resolveOnDisk(root, c.original), c.original.normalize('NFC'), 'conflict-resolved')));
    await rename(copyAbs, resolveOnDisk(root, c.original));
    return { kept: 'copy', paths: [c.original], trashed };
  }
  const kept = bothName(c);
  if ((await side(root, kept)).exists) throw new WizardError('USAGE', `${kept} already exists; rename the conflict copy by hand`);
  await rename(copyAbs, resolveOnDisk(root, kept));
  return { kept: 'both', paths: [c.original, kept], trashed: [] };
}

/** `dir/name.from-<node name, or ID>-YYYYMMDD-HHMMSS.ext` for a conflict copy kept beside the original. */
export function bothName(c: Conflict): string {
  const m = CONFLICT.exec(path.posix.basename(c.copy.path));
  const dir = parentOf(c.copy.path);
  const who = c.label === '' ? c.node : c.label;
  const name = m === null ? `${path.posix.basename(c.copy.path)}.kept` : `${m[1] ?? ''}.from-${who}-${m[2] ?? ''}${m[3] ?? ''}${m[4] ?? ''}-${m[5] ?? ''}${m[6] ?? ''}${m[7] ?? ''}${m[9] ?? ''}`;
  return dir === '' ? name : `${dir}/${name}`;
}
