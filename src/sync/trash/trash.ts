/**
 * The folder's trash: nothing Wizard deletes or overwrites is gone. Old
 * content moves to `<folder>/.wizard/trash/<original path>~<YYYYMMDD-HHMMSS-mmm>`,
 * where the user can find it by its name, until it is purged. Why each entry
 * is there (deleted, replaced, ...) is appended to `.wizard/trash.jsonl`, as
 * the name alone cannot say it.
 */
import { constants, renameSync } from 'node:fs';
import { appendFile, copyFile, link, lstat, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../../core/clock.js';
import { crashPoint } from '../../core/crash-point.js';
import { WizardError } from '../../core/errors.js';

/** Where trash lives inside a folder root. */
export const TRASH_DIR = path.join('.wizard', 'trash');

const INDEX_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/** Where the causes of trash entries are recorded, one JSON object a line. */
export const TRASH_INDEX = path.join('.wizard', 'trash.jsonl');

/** Why an entry is in the trash. */
export type TrashCause =
  | 'deleted' // a peer deleted the file
  | 'replaced' // a peer's newer version replaced it
  | 'restored-over' // `wizard trash restore` put an older version in its place
  | 'conflict-resolved'; // the side `wizard conflicts keep` discarded

/** One line of the trash index. */
export interface TrashRecord {
  /** The entry's path inside the trash dir (POSIX). */
  readonly entry: string;
  /** The file's original folder-relative path. */
  readonly path: string;
  readonly cause: TrashCause;
  /** How the old version is kept: a whole copy (absent) or a reverse delta from the version that replaced it (patch/journal.ts). */
  readonly form?: 'reverse-delta';
}

/** `name~YYYYMMDD-HHMMSS-mmm` in UTC: sortable, and readable in a file manager. */
export function trashName(rel: string, atMs: number): string {
  const d = new Date(atMs);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp =
    `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}-${pad(d.getUTCMilliseconds(), 3)}`;
  const slash = rel.lastIndexOf('/');
  const dir = rel.slice(0, slash + 1);
  // The suffix (and a collision counter after it) must fit in NAME_MAX with the name: cut long names by bytes.
  const room = NAME_MAX_BYTES - Buffer.byteLength(`~${stamp}-99`);
  return `${dir}${truncateUtf8(rel.slice(slash + 1), room)}~${stamp}`;
}

/** Longest file name most filesystems take, in bytes. */
const NAME_MAX_BYTES = 255;

/** The longest prefix of `s` that fits in `maxBytes` of UTF-8, never splitting a character. */
function truncateUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** Appends a line to the trash index; node's appendFile by default (tests inject a failing disk). */
export type AppendRecord = (file: string, line: string) => Promise<void>;

const appendRecord: AppendRecord = (file, line) =>
  // O_NOFOLLOW: a symlink planted at the index's name must not make us append to a file elsewhere.
  appendFile(file, line, { mode: 0o600, flag: INDEX_FLAGS });

/** Moves and copies old versions of a folder's files into its trash. */
export class Trash {
  constructor(
    private readonly root: string,
    /** Stamps entries; the daemon's is steady against clock steps (SteadyTime.notBefore), so an age is never overstated. */
    private readonly clock: Pick<Clock, 'now'>,
    private readonly append: AppendRecord = appendRecord,
  ) {}

  /**
   * Moves the file or empty dir at `abs` (whose folder-relative path is `rel`)
   * into the trash. Returns the trash path. `check` runs last before the
   * rename, in the same synchronous step (the caller's look that `abs` and
   * the dirs above it are still what it decided on: nothing of ours can move
   * them between the look and the rename).
   */
  async moveIn(abs: string, rel: string, cause: TrashCause = 'deleted', check?: () => void): Promise<string> {
    return this.place(rel, cause, async (dest) => {
      // rename() would silently replace an earlier trash entry of the same name; refuse instead.
      await assertAbsent(dest);
      check?.();
      renameSync(abs, dest);
      return () => putBack(dest, abs);
    });
  }

  /**
   * Keeps a copy of `abs` in the trash while leaving it in place, so the
   * caller can then atomically rename new content over it: at no moment is
   * the path missing. A hard link costs nothing; a copy is the fallback where
   * links are not supported.
   */
  async preserve(abs: string, rel: string, cause: TrashCause = 'replaced'): Promise<string> {
    return this.place(rel, cause, async (dest) => {
      try {
        await link(abs, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw err;
        try {
          await copyFile(abs, dest, constants.COPYFILE_EXCL);
        } catch (copyErr) {
          // A copy cut short by a full disk must not stay in the trash as if it were the old version.
          if ((copyErr as NodeJS.ErrnoException).code !== 'EEXIST') await rm(dest, { force: true });
          throw copyErr;
        }
      }
      return () => rm(dest, { force: true });
    });
  }

  /**
   * Moves the journal of a committed patch in place (patch/journal.ts) into
   * the trash as `rel`'s old version: a reverse delta from the version that
   * replaced it, not a whole copy.
   */
  async keepReverseDelta(journal: string, rel: string): Promise<string> {
    return this.place(
      rel,
      'replaced',
      async (dest) => {
        await assertAbsent(dest);
        renameSync(journal, dest);
        return () => rename(dest, journal);
      },
      'reverse-delta',
    );
  }

  /**
   * Puts an entry in the trash with `put` and records why. Both happen or
   * neither: when the record cannot be written (disk full, I/O error) `put` is
   * undone and the error thrown, so the caller's operation fails whole and is
   * retried, instead of leaving a file moved away with no record of it.
   */
  private async place(rel: string, cause: TrashCause, put: (dest: string) => Promise<() => Promise<void>>, form?: 'reverse-delta'): Promise<string> {
    const name = trashName(rel, this.clock.now());
    const parts = name.split('/');
    await realDirs(this.root, [...TRASH_DIR.split(path.sep), ...parts.slice(0, -1)]);
    const base = path.join(this.root, TRASH_DIR, ...parts);
    // Two versions of one path trashed in the same millisecond get a counter rather than overwriting each other.
    for (let n = 0; ; n++) {
      const dest = n === 0 ? base : `${base}-${n}`;
      try {
        const undo = await put(dest);
        // Crash point: the old version is in the trash, its cause not yet in trash.jsonl, the index not yet told.
        crashPoint('mid-trash-move');
        const record: TrashRecord = { entry: n === 0 ? name : `${name}-${n}`, path: rel, cause, ...(form === undefined ? {} : { form }) };
        try {
          await this.append(path.join(this.root, TRASH_INDEX), `${JSON.stringify(record)}\n`);
        } catch (err) {
          await undo();
          // Not EEXIST, whatever the append said: that would send the loop on to another name.
          throw (err as NodeJS.ErrnoException).code === 'EEXIST' ? new WizardError('INTERNAL', `cannot record a trash entry: ${String(err)}`, { cause: err }) : err;
        }
        return dest;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 100) throw err;
      }
    }
  }
}

/**
 * Makes sure each of `parts` below `root` is a real directory, creating the
 * missing ones one level at a time. A symlink on the way is refused: a
 * recursive mkdir would follow it and put trash (and later purges) outside the folder.
 */
export async function realDirs(root: string, parts: readonly string[]): Promise<void> {
  let dir = root;
  for (const part of parts) {
    dir = path.join(dir, part);
    try {
      const st = await lstat(dir);
      if (!st.isDirectory()) throw new WizardError('BAD_PATH', `${dir} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; Wizard's trash never follows links`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dir).catch((e: unknown) => {
        // Another writer made it between our lstat and mkdir; the next lstat decides.
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      });
      if (!(await lstat(dir)).isDirectory()) throw new WizardError('BAD_PATH', `${dir} is not a directory`);
    }
  }
}

/**
 * Undoes a move into the trash, but never over something that appeared at
 * `abs` since (the user saved a new file there meanwhile): a file goes back
 * by a new link, which fails rather than replace, and then leaves the trash;
 * if the name is taken it stays in the trash, where it can still be restored.
 * An empty dir is renamed back, which can only replace another empty dir.
 */
async function putBack(dest: string, abs: string): Promise<void> {
  if ((await lstat(dest)).isDirectory()) {
    await rename(dest, abs);
    return;
  }
  try {
    await link(dest, abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  await rm(dest, { force: true });
}

async function assertAbsent(p: string): Promise<void> {
  try {
    await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  throw Object.assign(new Error(`${p} exists`), { code: 'EEXIST' });
}
