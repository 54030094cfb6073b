/**
 * Names on disk that are not in Unicode NFC. The index keys every path by its
 * NFC form, which is what peers exchange; but a file written by a macOS tool,
 * or copied from a Mac by rsync or tar, is named in NFD on a Linux disk, and
 * Linux keeps the bytes it is given. Such a file is read, served, watched,
 * replaced and trashed under its own name: the index records the name
 * (`disk_name`), and `DiskNames`, loaded from the index and kept up to date
 * by the folder's commits, turns an NFC path into the path on disk. A peer's
 * new file is written under its NFC name. The map is usually empty, and then
 * costs nothing.
 */
import { readdirSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/** A path's spelling on disk, or the spellings that clash for it (two files whose names have one NFC form). */
export type Located = { readonly disk: string } | { readonly clash: readonly string[] };

/** The on-disk spelling of each path whose own name is not its NFC form, for one folder. */
export class DiskNames {
  /** NFC path -> the last component of its spelling on disk. */
  readonly #names = new Map<string, string>();

  constructor(recorded: Iterable<readonly [string, string]> = []) {
    for (const [rel, name] of recorded) this.#names.set(rel, name);
  }

  /** The path on disk of `rel` (an index path): each component under the name recorded for it, else its NFC name. */
  onDisk(rel: string): string {
    if (this.#names.size === 0 || rel === '') return rel;
    let key = '';
    const out: string[] = [];
    for (const part of rel.split('/')) {
      key = key === '' ? part : `${key}/${part}`;
      out.push(this.#names.get(key) ?? part);
    }
    return out.join('/');
  }

  /** Entries as the index just stored them: a live one's name on disk (`diskName`; none: its NFC name) replaces what was known. */
  note(entries: Iterable<{ readonly path: string; readonly deleted: boolean; readonly diskName?: string }>): void {
    for (const e of entries) {
      if (e.deleted || e.diskName === undefined || e.diskName === '') this.#names.delete(e.path);
      else this.#names.set(e.path, e.diskName);
    }
  }
}

/** The last component of `diskRel` when it is not the last component of `rel` (the name is not NFC on disk); '' otherwise. */
export function ownDiskName(rel: string, diskRel: string | undefined): string {
  if (diskRel === undefined || diskRel === rel) return '';
  const name = diskRel.slice(diskRel.lastIndexOf('/') + 1);
  return name === rel.slice(rel.lastIndexOf('/') + 1) ? '' : name;
}

// Only a name with a character outside ASCII can be spelled otherwise on disk, but for three
// singletons whose NFC form is ASCII (KELVIN SIGN, GREEK QUESTION MARK, GREEK VARIA): those are
// found by the walks that list their dir, not looked for by name.
// eslint-disable-next-line no-control-regex -- the range is the point
const NON_ASCII = /[^\u0000-\u007f]/;

/** `s` in NFC; an ASCII string, which NFC never changes, without the cost of normalising it. */
export function toNfc(s: string): string {
  return NON_ASCII.test(s) ? s.normalize('NFC') : s;
}

/**
 * Where `rel` (an NFC index path) is on disk: `guess` (DiskNames.onDisk) when
 * something is there, else its NFC spelling (a recorded name renamed to NFC
 * since), else, for a name that can have other spellings, the one its parent
 * dir lists. Undefined when nothing is there; `clash` when two spellings are.
 * Lists a dir only when a non-ASCII path is missing under every name known for it.
 */
export async function locate(root: string, rel: string, guess: string): Promise<Located | undefined> {
  if (guess === rel && !NON_ASCII.test(rel)) return { disk: rel };
  if (await exists(root, guess)) return { disk: guess };
  if (guess !== rel && (await exists(root, rel))) return { disk: rel };
  if (!NON_ASCII.test(rel)) return undefined;
  let disk = '';
  const parts = rel.split('/');
  for (const [i, part] of parts.entries()) {
    const here = disk === '' ? part : `${disk}/${part}`;
    let found = (await exists(root, here)) ? here : undefined;
    if (found === undefined) {
      const others = await spellingsIn(root, disk, part);
      if (others.length > 1) return { clash: others.map((n) => (disk === '' ? n : `${disk}/${n}`)) };
      const [only] = others;
      if (only === undefined) return undefined;
      found = disk === '' ? only : `${disk}/${only}`;
    }
    disk = found;
    if (i < parts.length - 1 && !(await isRealDir(root, disk))) return undefined;
  }
  return { disk };
}

/**
 * A name in the dir of `diskRel` that is another spelling of its last
 * component (the same NFC form), if any: a file a scan has not recorded yet,
 * which a new file written under the NFC name would sit beside as a second
 * file of the same name. Lists the dir only for a non-ASCII name.
 */
export function otherSpelling(root: string, diskRel: string): string | undefined {
  const slash = diskRel.lastIndexOf('/');
  const name = diskRel.slice(slash + 1);
  if (!NON_ASCII.test(name)) return undefined;
  const dir = slash < 0 ? '' : diskRel.slice(0, slash);
  const nfc = name.normalize('NFC');
  let names: string[];
  try {
    // Synchronous: the puller acts on the answer in the same step (temp-place.ts).
    names = readdirSync(abs(root, dir));
  } catch {
    return undefined;
  }
  return names.find((n) => n !== name && n.normalize('NFC') === nfc);
}

/** Names listed in the dir `dirRel` (on disk) whose NFC form is `nfcName` and which are not `nfcName` itself. */
async function spellingsIn(root: string, dirRel: string, nfcName: string): Promise<string[]> {
  const names = await readdir(abs(root, dirRel)).catch(() => [] as string[]);
  return names.filter((n) => n !== nfcName && n.normalize('NFC') === nfcName);
}

async function exists(root: string, rel: string): Promise<boolean> {
  return (await lstat(abs(root, rel)).catch(() => undefined)) !== undefined;
}

async function isRealDir(root: string, rel: string): Promise<boolean> {
  return (await lstat(abs(root, rel)).catch(() => undefined))?.isDirectory() === true;
}

function abs(root: string, rel: string): string {
  return rel === '' ? root : path.join(root, ...rel.split('/'));
}

/** Why a name that clashes with another spelling of itself is not synced, for status. */
export function clashReason(spellings: readonly string[]): string {
  const forms = spellings.map((s) => {
    const name = s.slice(s.lastIndexOf('/') + 1);
    return name === name.normalize('NFC') ? 'NFC' : name === name.normalize('NFD') ? 'NFD' : 'another form';
  });
  return `${spellings.length} names here differ only in how their letters are encoded (Unicode ${forms.sort().join(', ')}) and are one name to peers; neither is synced, nor overwritten by a peer, until one is renamed`;
}
