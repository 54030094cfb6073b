/**
 * One info line for what a folder took from its peers: a burst (a checkout,
 * a build on the other machine) is summed up as counts and its first few
 * paths instead of a line per file, and a quiet trickle still gets a line per
 * change, a moment after it lands. Conflict copies that arrive from a peer
 * (another machine's losing edit) get a line of their own.
 */
import type { Logger } from 'pino';
import { type FileEntry, sameContent } from '../../index/entry.js';
import { isConflictCopy } from '../conflicts/conflict.js';

/** How long changes gather before their line is written. */
export const APPLIED_WINDOW_MS = 1_000;
/** Paths a line names; the rest are counted. */
export const APPLIED_PATHS_SHOWN = 5;

/** What the reporter needs: the folder's logger and its timers (stopped with the folder). */
export interface AppliedLogDeps {
  readonly log: Logger;
  readonly after: (ms: number, fn: () => void) => void;
}

/** Counts of one window's applied changes and the first paths. */
interface Window {
  added: number;
  changed: number;
  deleted: number;
  paths: string[];
}

/** Gathers a folder's applied changes and logs them, batched. */
export class AppliedLog {
  private window: Window | undefined;

  constructor(private readonly deps: AppliedLogDeps) {}

  /**
   * Notes entries a pull recorded, each with what the index held before
   * (undefined: nothing). Entries whose content did not change (a merged
   * version, the same bytes) are not changes a user would call synced.
   */
  note(changes: ReadonlyArray<{ readonly entry: Omit<FileEntry, 'sequence'>; readonly before: FileEntry | undefined }>): void {
    for (const { entry, before } of changes) {
      const kind = kindOf(entry, before);
      if (kind === undefined) continue;
      if (this.window === undefined) {
        this.window = { added: 0, changed: 0, deleted: 0, paths: [] };
        this.deps.after(APPLIED_WINDOW_MS, () => this.flush());
      }
      this.window[kind]++;
      if (this.window.paths.length < APPLIED_PATHS_SHOWN) this.window.paths.push(entry.path);
      if (kind === 'added' && entry.type === 'file' && isConflictCopy(entry.path)) {
        this.deps.log.warn({ path: entry.path }, "conflict copy arrived: another machine kept its losing edit beside the file (see 'wizard conflicts')");
      }
    }
  }

  /** Writes the window's line now (the folder also calls it as it stops). */
  flush(): void {
    const w = this.window;
    this.window = undefined;
    if (w === undefined) return;
    const total = w.added + w.changed + w.deleted;
    const more = total - w.paths.length;
    this.deps.log.info(
      { added: w.added, changed: w.changed, deleted: w.deleted, paths: w.paths, ...(more > 0 ? { more } : {}) },
      `applied ${total} ${total === 1 ? 'change' : 'changes'} from peers`,
    );
  }
}

function kindOf(entry: Omit<FileEntry, 'sequence'>, before: FileEntry | undefined): 'added' | 'changed' | 'deleted' | undefined {
  if (entry.deleted) return before === undefined || before.deleted ? undefined : 'deleted';
  if (before === undefined || before.deleted) return 'added';
  return sameContent({ ...entry, sequence: 0 }, before) && entry.mode === before.mode ? undefined : 'changed';
}
