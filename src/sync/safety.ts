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

/** Deletions below this count never trip the percentage rule: removing 3 of 5 files is an edit, not a wiped disk. */
export const MIN_DELETIONS_FOR_PERCENT = 10;

/**
 * Why `deletions` deletions within the budget's window (a minute) should
 * wait for the user's confirmation, or undefined when they may go: more than
 * `percent` of `folderSize`, the folder's live entries when the window began
 * (an emptied or half-unmounted folder, an `rm -rf`, a peer deleting
 * everything), or more than `perMinute` in all. Pure.
 */
export function deletionBudgetExceeded(deletions: number, folderSize: number, budget: DeletionBudget): string | undefined {
  if (deletions >= MIN_DELETIONS_FOR_PERCENT && deletions * 100 > folderSize * budget.percent) {
    return `${deletions} of ${folderSize} entries deleted within a minute (more than ${budget.percent}%)`;
  }
  if (deletions > budget.perMinute) {
    return `${deletions} deletions within a minute (more than ${budget.perMinute})`;
  }
  return undefined;
}
