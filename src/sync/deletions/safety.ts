/**
 * Guards against the scariest mistake a sync tool can make: taking a folder
 * that is merely missing (an unmounted disk, a renamed dir) for a folder
 * whose files were all deleted, and deleting them on every peer.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';

/** The `.wizard` dir at the root marks a folder Wizard has synced; its absence means the disk is not the one we know. */
export const MARKER_DIR = '.wizard';

/** Why the folder at `root` cannot be trusted right now, or undefined when it can. */
export async function integrityProblem(root: string): Promise<string | undefined> {
  try {
    if (!(await stat(root)).isDirectory()) return `${root} is not a directory`;
  } catch {
    return `${root} is missing (unmounted or deleted?); restore it to resume`;
  }
  try {
    await stat(path.join(root, MARKER_DIR));
  } catch {
    return `${path.join(root, MARKER_DIR)} is missing, so this may not be the disk Wizard synced; recreate that dir if the folder is intact`;
  }
  return undefined;
}

/** The user's bounds on deletions, local and from peers (config `deletionBudget`). */
export interface DeletionBudget {
  readonly percent: number;
  readonly perMinute: number;
}

/** Fewer deletions than this at once (one scan, one pull round) are an edit, not a wiped disk: removing 3 of 5 files. */
export const MIN_DELETIONS_AT_ONCE = 10;

/**
 * Fewer deletions than this within the budget's window, none of them ten at
 * once, are the pace of work, even in a small folder: a test of two nodes
 * deleting, renaming and moving by hand in a folder of a dozen entries made
 * ten in 40 s. Twenty still stops a split rm -rf or a peer's trickle at half
 * of any folder of 40 entries or more.
 */
export const MIN_DELETIONS_IN_WINDOW = 20;

/**
 * Why deletions should wait for the user's confirmation, or undefined when
 * they may go: `inWindow` deletions within the budget's window (a minute),
 * `atOnce` of them in the batch being judged, are more than `percent` of
 * `folderSize` (an emptied or half-unmounted folder, an `rm -rf`, a peer
 * deleting everything) and enough not to be ordinary work, or more than
 * `perMinute` in all. Pure.
 */
export function deletionBudgetExceeded(inWindow: number, atOnce: number, folderSize: number, budget: DeletionBudget): string | undefined {
  const isMany = atOnce >= MIN_DELETIONS_AT_ONCE || inWindow >= MIN_DELETIONS_IN_WINDOW;
  if (isMany && inWindow * 100 > folderSize * budget.percent) {
    return `${inWindow} of ${folderSize} entries deleted within a minute (more than ${budget.percent}%)`;
  }
  if (inWindow > budget.perMinute) {
    return `${inWindow} deletions within a minute (more than ${budget.perMinute})`;
  }
  return undefined;
}
