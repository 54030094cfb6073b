/**
 * Temp files a download left behind when it never finished: the daemon was
 * killed mid-write, or between the temp file's fsync and its rename. They are
 * in the folder's `.wizard/tmp` (temp-place.ts), or next to their target when
 * it is on another filesystem or they are from an older version of Wizard. A big
 * one is worth keeping for a while: the next download to its path reuses its
 * blocks (fetch.ts) and removes it. Nothing else ever would remove the rest,
 * so the scan does:
 * - after a restart, no download of ours is running, so a temp that cannot
 *   be reused goes at once: a symlink's, or one below DELTA_MIN_BYTES
 *   (downloads that small start over, and so much is cheap to fetch again);
 * - any time, one untouched for TEMP_LIFETIME_MS goes: its path was deleted
 *   or arrived another way, and no download is writing it (writes move its ctime).
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { isTempName } from '../../core/paths.js';
import { DELTA_MIN_BYTES } from '../../delta/signature.js';
import { TEMP_DIR } from './temp-place.js';

/** How long an unused partial download is kept for reuse (Syncthing keeps its temp files a day too). */
export const TEMP_LIFETIME_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the stale ones of `temps` (folder-relative paths of temp files the
 * scan met) and returns them. `afterRestart`: no download has started since
 * the process did, so what cannot be reused is stale too.
 */
export async function removeStaleTemps(root: string, temps: readonly string[], opts: { afterRestart: boolean; nowMs: number }): Promise<string[]> {
  const removed: string[] = [];
  for (const rel of temps) {
    const abs = path.join(root, ...rel.split('/'));
    const st = await lstat(abs).catch(() => undefined);
    // Wizard never makes a temp dir: whatever that is, it is not ours to remove.
    if (st === undefined || st.isDirectory()) continue;
    const unusable = !st.isFile() || st.size < DELTA_MIN_BYTES;
    if ((opts.afterRestart && unusable) || opts.nowMs - st.ctimeMs > TEMP_LIFETIME_MS) {
      // One that cannot be removed (a read-only dir) stays; it must not fail the scan that found it.
      if (await rm(abs, { force: true }).then(() => true, () => false)) removed.push(rel);
    }
  }
  return removed;
}

/** The temp files in the folder's shared temp dir, as folder-relative paths (none when it does not exist). */
export async function sharedTemps(root: string): Promise<string[]> {
  // Never through a link: removing what a linked dir holds would remove files elsewhere.
  const marker = await lstat(path.join(root, ...TEMP_DIR.split('/').slice(0, -1))).catch(() => undefined);
  const dir = await lstat(path.join(root, ...TEMP_DIR.split('/'))).catch(() => undefined);
  if (marker?.isDirectory() !== true || dir?.isDirectory() !== true) return [];
  const names = await readdir(path.join(root, ...TEMP_DIR.split('/'))).catch(() => [] as string[]);
  return names.filter(isTempName).map((n) => `${TEMP_DIR}/${n}`);
}
