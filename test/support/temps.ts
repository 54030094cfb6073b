/**
 * Wizard's temp files under a folder root, wherever they are: in the
 * folder's `.wizard/tmp` (where downloads are made) or next to a target (a
 * dir on another filesystem, or an older Wizard's partial downloads).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

/** Folder-relative paths of every `.~wizard-*` file below `root`, `.wizard/tmp` included, `.wizard/trash` not. */
export function tempFilesIn(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[])
    .map(String)
    .filter((n) => !n.startsWith(path.join('.wizard', 'trash')) && path.basename(n).startsWith('.~wizard-'));
}
