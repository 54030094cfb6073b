// Keeps the bench's own deletions from slowing what it measures. This VM's root file system is
// ext4 without a journal, and ext4 without one does not reuse an inode within 60 s of its
// deletion (300 s while the inode's table block is still dirty): each file created meanwhile
// scans past every recently deleted inode of its block group first (`recently_deleted` in
// fs/ext4/ialloc.c). After a group's thousands of files were removed, `perf` showed a quarter
// of a 2,000-file write's time in that scan, and the write took 1.0-1.8 s of system time instead
// of 0.1 s. So within a run nothing with many files is deleted until the run ends, and a run
// does not start measuring until the last run's deletions are past that window.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Files at least this big are deleted at once: few inodes, much space. */
const DELETE_NOW_MIN_BYTES = 1024 * 1024;
/** How long after a deletion (once written back by `sync`) ext4 reuses the inode, plus a margin. */
const RECENCY_MS = 65_000;
const STAMP = '.last-deletion';

/**
 * Sets aside a group's run dir: big files are deleted now, the rest is moved to `<base>.retired`
 * and removed with the run's scratch when the run ends.
 */
export function retireRunDir(base) {
  if (!fs.existsSync(base)) return;
  for (const e of fs.readdirSync(base, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath ?? e.path, e.name);
    try {
      if (fs.statSync(file).size >= DELETE_NOW_MIN_BYTES) fs.rmSync(file, { force: true });
    } catch {
      // gone already: nothing to free
    }
  }
  fs.renameSync(base, `${base}.retired`);
}

/** Records that a run just deleted its files (under `wzb`), and writes them back so the 60 s window applies. */
export function noteDeletions(wzb) {
  try {
    execFileSync('sync');
    fs.mkdirSync(wzb, { recursive: true });
    fs.writeFileSync(path.join(wzb, STAMP), String(Date.now()));
  } catch {
    // no stamp: the next run does not wait
  }
}

/** Waits until the last run's deletions (noteDeletions) are out of ext4's reuse window. */
export async function waitOutDeletions(wzb, log) {
  let at;
  try {
    at = Number(fs.readFileSync(path.join(wzb, STAMP), 'utf8'));
  } catch {
    return;
  }
  const left = at + RECENCY_MS - Date.now();
  if (!(left > 0)) return;
  log(`waiting ${Math.ceil(left / 1000)} s for the last run's deleted inodes to be reusable (see bench/lib/deleted-inodes.mjs)`);
  await new Promise((r) => setTimeout(r, left));
}
