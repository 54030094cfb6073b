/**
 * The ignore rules one folder scans and pulls by: the node's master list and
 * the folder's own `.wizardignore`, compiled into one matcher and compiled
 * again when either text changes. Its own module because a list that cannot
 * be read must never count as an empty one (that would un-ignore everything
 * and send ignored files to the peers), and remembering the last good text,
 * and why the latest read failed, takes state.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '../../core/errors.js';
import { compileIgnore, isAlwaysIgnored, type IgnoreMatcher } from '../../ignore/matcher.js';
import type { FolderDeps } from '../folder-deps.js';

/** The folder's own ignore file at its root (not synced, like Syncthing's .stignore). */
export const FOLDER_IGNORE = '.wizardignore';

/** What the ignore rules need. */
export type FolderIgnoreRulesDeps = Pick<FolderDeps, 'root' | 'masterIgnore' | 'log'>;

/** A folder's compiled ignore rules, and the state of its own ignore file. */
export class FolderIgnoreRules {
  private compiled: IgnoreMatcher | undefined;
  private compiledSource = '';
  /** The folder's own ignore file as last read (undefined: never readable), and why the latest read failed. */
  private ownIgnore: string | undefined;
  private ownIgnoreProblem: string | undefined;

  constructor(private readonly deps: FolderIgnoreRulesDeps) {}

  /** The rules in force; undefined until both lists could be read once. */
  get matcher(): IgnoreMatcher | undefined {
    return this.compiled;
  }

  /** Why the folder's own ignore file cannot be read now; undefined while it can. */
  get problem(): string | undefined {
    return this.ownIgnoreProblem;
  }

  /** Whether a path is ignored here (peers' entries for it are neither pulled nor counted). */
  isIgnored(rel: string): boolean {
    return isAlwaysIgnored(rel) || rel === FOLDER_IGNORE || (this.compiled?.isIgnored(rel, false) ?? false);
  }

  /**
   * Recompiles the ignore rules when either list changed; true when rules
   * already in use changed, undefined when a list cannot be read and none was
   * ever in force (an unreadable list keeps the last good one otherwise).
   */
  async refresh(): Promise<boolean | undefined> {
    const master = this.deps.masterIgnore();
    const own = await this.readOwnIgnore();
    if (master === undefined || own === undefined) return this.compiled === undefined ? undefined : false;
    const source = `${master}\0${own}`;
    if (this.compiled !== undefined && source === this.compiledSource) return false;
    const hadRules = this.compiled !== undefined;
    this.compiled = compileIgnore([
      { text: master, base: '' },
      { text: own, base: '' },
    ]);
    this.compiledSource = source;
    return hadRules;
  }

  /**
   * The folder's `.wizardignore` text: '' when there is none. One that cannot
   * be read (a dir now, EACCES, EIO) keeps the last good text: reading it as
   * empty would un-ignore everything and send ignored files to the peers.
   */
  private async readOwnIgnore(): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(path.join(this.deps.root, FOLDER_IGNORE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        text = '';
      } else {
        const keeps = this.ownIgnore === undefined ? 'nothing is scanned until it can be read' : 'the last good rules stay in force';
        const problem = `cannot read ${FOLDER_IGNORE}: ${describeError(err)}; ${keeps}`;
        if (problem !== this.ownIgnoreProblem) this.deps.log.warn(problem);
        this.ownIgnoreProblem = problem;
        return this.ownIgnore;
      }
    }
    if (this.ownIgnoreProblem !== undefined) this.deps.log.info(`${FOLDER_IGNORE} can be read again`);
    this.ownIgnoreProblem = undefined;
    this.ownIgnore = text;
    return text;
  }
}
