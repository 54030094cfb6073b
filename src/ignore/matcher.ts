/**
 * Which paths a folder does not sync: the master ignore list, the folder's
 * `.wizardignore` files (gitignore syntax), and Wizard's own files.
 */
import ignore, { type Ignore } from 'ignore';

/** Decides whether a folder-relative path is left out of syncing. */
export interface IgnoreMatcher {
  /**
   * True when `relPath` (relative POSIX, NFC, as `toRelPath` returns it) is
   * not synced. `isDir` says whether it is a directory, for patterns such as
   * `build/` that only match directories. The folder root ('') never is.
   */
  isIgnored(relPath: string, isDir: boolean): boolean;
  /**
   * `isIgnored` for a path whose parent dir this matcher found not ignored
   * (asked as a dir), or a child of the root: the same answer, without asking
   * again about each ancestor. A walk asks once per dir and passes the answer
   * down, instead of once per ancestor of every path below it.
   */
  isChildIgnored(relPath: string, isDir: boolean): boolean;
}

/** One ignore file's text and the folder-relative directory it sits in ('' for the root and the master list). */
export interface IgnoreSource {
  readonly text: string;
  readonly base: string;
}

/**
 * What is ignored whatever the user writes, as gitignore patterns: the
 * folder's `.wizard` directory (index marker, trash) and the temp files new
 * content is written to before it is renamed into place.
 */
export const ALWAYS_IGNORED: readonly string[] = ['/.wizard', '.~wizard-*.tmp'];

const WIZARD_DIR = '.wizard';
const TEMP_NAME = /^\.~wizard-.*\.tmp$/;
/** What every temp name holds. */
const TEMP_MARK = '.~wizard-';

/** True for `.wizard` at the root and what is inside it, and for Wizard temp names (and anything below one) at any depth. */
export function isAlwaysIgnored(relPath: string): boolean {
  if (relPath === WIZARD_DIR || relPath.startsWith(`${WIZARD_DIR}/`)) return true;
  // Most paths have no temp name in them: one search instead of a split and a test per name.
  if (!relPath.includes(TEMP_MARK)) return false;
  return relPath.split('/').some((name) => TEMP_NAME.test(name));
}

/** Escapes a directory name so that gitignore reads it literally inside a pattern. */
function escapeGlob(dir: string): string {
  return dir.replace(/[\\*?[\]!#]/g, '\\$&');
}

/**
 * Rewrites one line of a nested ignore file as a pattern relative to the
 * folder root, with git's meaning: a pattern with a slash before its end is
 * anchored to the file's directory, one without matches at any depth below it.
 */
function rebase(line: string, base: string): string | undefined {
  // Trailing blanks are not part of a pattern unless escaped with a backslash.
  const trimmed = line.replace(/(?<!\\)[ \t]+$/, '');
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const negated = trimmed.startsWith('!');
  const body = negated ? trimmed.slice(1) : trimmed;
  if (body === '') return undefined;
  const isAnchored = body.replace(/\/$/, '').includes('/');
  const rebased = isAnchored ? `${escapeGlob(base)}/${body.replace(/^\//, '')}` : `${escapeGlob(base)}/**/${body}`;
  return negated ? `!${rebased}` : rebased;
}

/** Depth of a directory path; '' is 0. */
function depth(dir: string): number {
  return dir === '' ? 0 : dir.split('/').length;
}

/** The ancestors of a relative path, shortest first: 'a/b/c' gives 'a', 'a/b'. */
function* ancestors(relPath: string): Generator<string> {
  for (let i = relPath.indexOf('/'); i !== -1; i = relPath.indexOf('/', i + 1)) yield relPath.slice(0, i);
}

/** Questions a compiled rule set answers before it is compiled afresh (see compileIgnore). */
export const RULES_CACHE_LIMIT = 10_000;

/**
 * Compiles ignore sources into one matcher. Sources are applied from the
 * shallowest base down (the master list and the root file first, in the order
 * given), so, as in git, a deeper file overrides a shallower one, and a later
 * line overrides an earlier one.
 */
export function compileIgnore(sources: readonly IgnoreSource[], cacheLimit = RULES_CACHE_LIMIT): IgnoreMatcher {
  const patterns: string[] = [];
  const ordered = sources.map((source, order) => ({ source, order }));
  ordered.sort((a, b) => depth(a.source.base) - depth(b.source.base) || a.order - b.order);
  for (const { source } of ordered) {
    if (source.base === '') {
      patterns.push(source.text);
      continue;
    }
    for (const line of source.text.split(/\r?\n/)) {
      const pattern = rebase(line, source.base);
      if (pattern !== undefined) patterns.push(pattern);
    }
  }
  // No rule of the user's (every line empty or a comment): only ALWAYS_IGNORED applies, which the
  // checks below make without the package (its test of each path was 0.17 s of a 100,000-file rescan).
  const builtInOnly = patterns.every((text) => text.split(/\r?\n/).every((line) => line === '' || line.startsWith('#')));
  patterns.push(...ALWAYS_IGNORED);
  // Case-sensitive, like git on Linux: a pattern must select the same paths
  // on every peer, whatever each one's filesystem does with case.
  const compile = (): Ignore => {
    const fresh = ignore({ ignorecase: false });
    // One add per text, as written: a source's whole text is split into lines by the package.
    for (const p of patterns) fresh.add(p);
    return fresh;
  };
  // The package keeps the answer for every path it is asked about, and every parent of one, for
  // the life of the instance: a scan of 1,000,000 files left them all in memory (about 200 B a
  // path). A fresh instance every `cacheLimit` questions keeps what a dir's children share.
  let rules = compile();
  let asked = 0;
  const ignores = (p: string): boolean => {
    if (++asked > cacheLimit) {
      rules = compile();
      asked = 1;
    }
    return rules.ignores(p);
  };

  return {
    isIgnored(relPath, isDir) {
      if (relPath === '') return false;
      if (isAlwaysIgnored(relPath)) return true;
      if (builtInOnly) return false;
      // Git never looks inside an excluded directory, so nothing below one can
      // be re-included. The package applies that to each ancestor itself, but
      // only an explicit check makes it a guarantee of this function rather
      // than of one version of a dependency.
      for (const dir of ancestors(relPath)) if (ignores(`${dir}/`)) return true;
      return ignores(isDir ? `${relPath}/` : relPath);
    },
    isChildIgnored(relPath, isDir) {
      if (relPath === '') return false;
      // Its ancestors were found not ignored: not .wizard nor inside it, no temp name among them.
      const name = relPath.slice(relPath.lastIndexOf('/') + 1);
      if (relPath === WIZARD_DIR || (name.includes(TEMP_MARK) && TEMP_NAME.test(name))) return true;
      if (builtInOnly) return false;
      return ignores(isDir ? `${relPath}/` : relPath);
    },
  };
}

/** A matcher with no user patterns: only `ALWAYS_IGNORED` applies, since Wizard's own files never sync. */
export const NO_IGNORES: IgnoreMatcher = compileIgnore([]);
