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

/** The user's bounds on outgoing deletions (config `deletionBudget`). */
export interface DeletionBudget {
  readonly percent: number;
  readonly perMinute: number;
}

/** Deletions below this count never trip the percentage rule: removing 3 of 5 files is an edit, not a wiped disk. */
export const MIN_DELETIONS_FOR_PERCENT = 10;

/**
 * Why `deletions` new deletions should wait for the user's confirmation, or
 * undefined when they may go: more than `percent` of the folder's live
 * entries at once (an emptied or half-unmounted folder), or more than
 * `perMinute` within a minute counting `recent` ones. Pure.
 */
export function deletionBudgetExceeded(deletions: number, live: number, recent: number, budget: DeletionBudget): string | undefined {
  if (deletions >= MIN_DELETIONS_FOR_PERCENT && deletions * 100 > live * budget.percent) {
    return `${deletions} of ${live} entries vanished at once (more than ${budget.percent}%)`;
  }
  if (recent + deletions > budget.perMinute) {
    return `${recent + deletions} deletions within a minute (more than ${budget.perMinute})`;
  }
  return undefined;
}
