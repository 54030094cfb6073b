/**
 * Relative paths inside a synced folder. Every path that comes from a peer, the
 * index or the scanner passes `toRelPath` before it is used, and every path
 * that reaches the filesystem goes through `resolveInside`.
 */
import path from 'node:path';
import { BadPathError, WizardError } from './errors.js';
import { LIMITS } from '../protocol/messages.js';

/** Wizard's own directory at the top of every folder root; never synced. */
export const WIZARD_DIR = '.wizard';

const TEMP_PREFIX = '.~wizard-';
const TEMP_SUFFIX = '.tmp';

/** Bytes of the longest file name most filesystems accept (NAME_MAX). */
const MAX_NAME_BYTES = 255;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHAR = /[\u0000-\u001f\u007f]/;
// A lone surrogate cannot be encoded as UTF-8: Node would write U+FFFD, so the
// name on disk would differ from the name in the index.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A peer-controlled path, quoted and cut short so it is safe in an error message. */
function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

function fail(input: string, rule: string): never {
  throw new BadPathError(`bad path ${quote(input)}: ${rule}`);
}

/**
 * Validates a relative POSIX path and returns it in NFC. Throws BadPathError
 * naming the rule broken. Accepts non-NFC input (macOS hands out NFD names):
 * the checks run on the NFC form, which is what is stored and sent.
 */
export function toRelPath(input: unknown): string {
  if (typeof input !== 'string') throw new BadPathError(`bad path: expected a string, got ${typeof input}`);
  if (input === '') throw new BadPathError('bad path "": empty');
  // NFC turns at most 4 UTF-16 units into 3 UTF-8 bytes, so this cannot refuse
  // a valid path; it keeps normalize() off megabyte strings from a peer.
  if (input.length > 2 * LIMITS.maxPathBytes) fail(input, `longer than ${LIMITS.maxPathBytes} bytes`);
  if (input.includes('\0')) fail(input, 'contains NUL');
  if (LONE_SURROGATE.test(input)) fail(input, 'not well-formed Unicode (lone surrogate)');
  const rel = input.normalize('NFC');
  if (CONTROL_CHAR.test(rel)) fail(input, 'contains a control character');
  if (rel.includes('\\')) fail(input, 'contains a backslash');
  if (rel.startsWith('/')) fail(input, 'absolute');
  if (rel.endsWith('/')) fail(input, 'trailing "/"');
  if (Buffer.byteLength(rel, 'utf8') > LIMITS.maxPathBytes) fail(input, `longer than ${LIMITS.maxPathBytes} bytes`);
  const parts = rel.split('/');
  for (const part of parts) {
    if (part === '') fail(input, 'empty component');
    if (part === '.' || part === '..') fail(input, `"${part}" component`);
    if (Buffer.byteLength(part, 'utf8') > LIMITS.maxNameBytes) {
      fail(input, `component longer than ${LIMITS.maxNameBytes} bytes`);
    }
  }
  // Lower-cased because on a case-insensitive filesystem (macOS, Windows)
  // ".Wizard/x" lands in the same directory as ".wizard/x".
  if (parts[0]?.toLowerCase() === WIZARD_DIR) fail(input, `in Wizard's own ${WIZARD_DIR} directory`);
  return rel;
}

/** A name of printable ASCII but '/' and '\\': already NFC, and nothing in it that toRelPath refuses. */
const PLAIN_NAME = /^[\x20-\x2e\x30-\x5b\x5d-\x7e]+$/;

/**
 * `toRelPath` of `parent` + '/' + `name` when `name` is plain, checked
 * without normalizing or splitting the whole path again (a walk asks this of
 * every entry); undefined for any other name, which toRelPath must judge.
 * `parent` is a valid path in NFC ('' for the root) of `parentBytes` UTF-8
 * bytes, and `name` one component from a dir listing. '/' is a
 * normalization boundary, so a parent spelled otherwise on disk gives the
 * same path as toRelPath of the spelling on disk.
 */
export function plainChildPath(parent: string, parentBytes: number, name: string): string | undefined {
  const plain =
    PLAIN_NAME.test(name) &&
    name !== '.' &&
    name !== '..' &&
    name.length <= LIMITS.maxNameBytes &&
    (parent === '' ? name.length : parentBytes + 1 + name.length) <= LIMITS.maxPathBytes &&
    (parent !== '' || name.toLowerCase() !== WIZARD_DIR);
  if (!plain) return undefined;
  return parent === '' ? name : `${parent}/${name}`;
}

/** True for a Wizard temp file name (`.~wizard-<anything>.tmp`); such files are never synced. */
export function isTempName(name: string): boolean {
  return (
    name.length >= TEMP_PREFIX.length + TEMP_SUFFIX.length && name.startsWith(TEMP_PREFIX) && name.endsWith(TEMP_SUFFIX)
  );
}

/**
 * The temp file name used while downloading `basename` (one path component):
 * `.~wizard-<basename>-<random>.tmp`, with the basename cut (on a code point
 * boundary) so the whole name fits in 255 UTF-8 bytes.
 */
export function tempNameFor(basename: string, random: string): string {
  const tail = `-${random}${TEMP_SUFFIX}`;
  const budget = MAX_NAME_BYTES - Buffer.byteLength(TEMP_PREFIX + tail, 'utf8');
  if (budget < 0) throw new WizardError('INTERNAL', `temp name suffix too long (${random.length} chars)`);
  let kept = '';
  let used = 0;
  for (const ch of basename) {
    const bytes = Buffer.byteLength(ch, 'utf8');
    if (used + bytes > budget) break;
    kept += ch;
    used += bytes;
  }
  return `${TEMP_PREFIX}${kept}${tail}`;
}

/**
 * The absolute filesystem path of `rel` under `root`. `rel` is validated with
 * `toRelPath`; the containment check after the join is a second line of
 * defence should that validation ever have a hole.
 */
export function resolveInside(root: string, rel: string): string {
  return joinInside(root, toRelPath(rel), rel);
}

/**
 * `resolveInside` for the spelling a path has on disk, which may not be NFC
 * (a name written by a Mac, see index/disk-names.ts): validated in its NFC
 * form like any path, and joined as it is, so the file is found under its own name.
 */
export function resolveOnDisk(root: string, diskRel: string): string {
  toRelPath(diskRel);
  return joinInside(root, diskRel, diskRel);
}

function joinInside(root: string, clean: string, asGiven: string): string {
  // Names only: inside by construction, the same string the checked join below gives.
  if (hasOnlyNames(clean)) return namesUnder(root, clean);
  const full = path.join(root, ...clean.split('/'));
  const back = path.relative(path.resolve(root), path.resolve(full));
  if (back === '' || back === '..' || back.startsWith(`..${path.sep}`) || path.isAbsolute(back)) {
    throw new BadPathError(`bad path ${quote(asGiven)}: resolves outside the folder root`);
  }
  return full;
}

/** Each root as path.join normalises it, so that a path joined under it is one concatenation. */
const normalRoots = new Map<string, string>();
/** Roots remembered at most: a daemon has a few folders; tests make many. */
const NORMAL_ROOTS_MAX = 64;

function normalRoot(root: string): string {
  let normal = normalRoots.get(root);
  if (normal === undefined) {
    normal = path.join(root);
    if (normalRoots.size >= NORMAL_ROOTS_MAX) normalRoots.clear();
    normalRoots.set(root, normal);
  }
  return normal;
}

/**
 * True when every '/'-separated component of `rel` is a name: none empty,
 * '.' or '..'. Such a path joined under a root stays below it, and joining it
 * needs no normalisation. Allocates nothing.
 */
export function hasOnlyNames(rel: string): boolean {
  let start = 0;
  for (;;) {
    const slash = rel.indexOf('/', start);
    const end = slash < 0 ? rel.length : slash;
    const len = end - start;
    if (len === 0) return false;
    if (len <= 2 && rel.charCodeAt(start) === 0x2e && (len === 1 || rel.charCodeAt(start + 1) === 0x2e)) return false;
    if (slash < 0) return true;
    start = slash + 1;
  }
}

/**
 * `path.join(root, ...rel.split('/'))`, the absolute (or root-relative) path
 * of `rel`. When `rel` holds only names (hasOnlyNames) it is the normalised
 * root and `rel` put together, without path.join's pass over the whole
 * string: a pulled small file joins its paths about a dozen times, and the
 * strings those passes made were a third of what its pull allocated.
 * Anything else takes path.join, so the result is always path.join's.
 */
export function joinNames(root: string, rel: string): string {
  return hasOnlyNames(rel) ? namesUnder(root, rel) : path.join(root, ...rel.split('/'));
}

/** joinNames of a `rel` the caller found hasOnlyNames of (a prefix of such a path is one too), without checking it again. */
export function namesUnder(root: string, rel: string): string {
  const base = normalRoot(root);
  if (base === '.') return rel;
  return base.endsWith(path.sep) ? base + rel : `${base}${path.sep}${rel}`;
}

/** The parent directory of a relative path; '' for a top-level name. */
export function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

/** True when `p` is `dir` or lies below it; `dir` '' is the folder root, which holds everything. */
export function isUnder(p: string, dir: string): boolean {
  return dir === '' || p === dir || p.startsWith(`${dir}/`);
}
