/**
 * The folder's trash: nothing Wizard deletes or overwrites is gone. Old
 * content moves to `<folder>/.wizard/trash/<original path>~<YYYYMMDD-HHMMSS-mmm>`,
 * where the user can find it by its name, until it is purged.
 */
import { copyFile, link, lstat, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../core/clock.js';

/** Where trash lives inside a folder root. */
export const TRASH_DIR = path.join('.wizard', 'trash');

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

/** Moves and copies old versions of a folder's files into its trash. */
export class Trash {
  constructor(
    private readonly root: string,
    private readonly clock: Clock,
  ) {}

  /** Moves the file or empty dir at `abs` (whose folder-relative path is `rel`) into the trash. Returns the trash path. */
  async moveIn(abs: string, rel: string): Promise<string> {
    return this.place(rel, async (dest) => {
      // rename() would silently replace an earlier trash entry of the same name; refuse instead.
      await assertAbsent(dest);
      await rename(abs, dest);
    });
  }

  /**
   * Keeps a copy of `abs` in the trash while leaving it in place, so the
   * caller can then atomically rename new content over it: at no moment is
   * the path missing. A hard link costs nothing; a copy is the fallback where
   * links are not supported.
   */
  async preserve(abs: string, rel: string): Promise<string> {
    return this.place(rel, async (dest) => {
      try {
        await link(abs, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw err;
        await copyFile(abs, dest);
      }
    });
  }

  private async place(rel: string, put: (dest: string) => Promise<void>): Promise<string> {
    const base = path.join(this.root, TRASH_DIR, ...trashName(rel, this.clock.now()).split('/'));
    await mkdir(path.dirname(base), { recursive: true });
    // Two versions of one path trashed in the same millisecond get a counter rather than overwriting each other.
    for (let n = 0; ; n++) {
      const dest = n === 0 ? base : `${base}-${n}`;
      try {
        await put(dest);
        return dest;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 100) throw err;
      }
    }
  }
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
