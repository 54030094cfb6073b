/**
 * Removing a dir a peer deleted or replaced, only when nothing of the user's
 * is left in it.
 */
import { readdirSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { WizardError } from '../../core/errors.js';
import { isTempName, resolveOnDisk } from '../../core/paths.js';
import { realAncestors } from '../../index/real-path.js';

/**
 * Removes a dir only when it is empty: anything still inside is either being
 * deleted on its own, or new here and must stay (then CHANGED: rescan, decide again).
 * Synchronous, with the dirs above it checked in the same step. `rel` as spelled on disk.
 */
export function removeEmptyDir(root: string, rel: string): void {
  const abs = resolveOnDisk(root, rel);
  if (!realAncestors(root, rel)) throw changed(rel);
  try {
    rmdirSync(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw err;
    // Left-over partial downloads are ours, not the user's: they must not keep a deleted dir alive.
    // (Deletions run after the round's downloads, so none of these is being written.)
    const names = readdirSync(abs);
    if (names.length === 0 || !names.every(isTempName)) throw changed(rel);
    for (const name of names) rmSync(path.join(abs, name), { force: true });
    try {
      rmdirSync(abs);
    } catch (err) {
      // Something new landed in it meanwhile: rescan and decide again. Any other failure is passed up, as the first rmdir's is.
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw err;
      throw changed(rel);
    }
  }
}

function changed(rel: string): WizardError {
  return new WizardError('CHANGED', `${rel} changed on disk since it was last scanned; rescanning before deciding again`);
}
