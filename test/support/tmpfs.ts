/**
 * Small real tmpfs mounts, for tests that need a disk that really fills up
 * (ENOSPC from the kernel, not a fake). Mounting needs root (or
 * CAP_SYS_ADMIN); `canMountTmpfs` says whether this machine allows it, so a
 * test that needs it can skip with that reason instead of failing.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Mounts a tmpfs of `size` (mount's syntax: `2m`) on the existing dir `dir`; throws when mounting is not permitted. */
export function mountTmpfs(dir: string, size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
}

/** Changes the size of the tmpfs mounted on `dir` (growing it is how a test "frees space"). */
export function resizeTmpfs(dir: string, size: string): void {
  execFileSync('mount', ['-o', `remount,size=${size}`, dir], { stdio: 'pipe' });
}

/** Unmounts `dir`; quiet when nothing is mounted there. Lazy, so a daemon killed a moment ago cannot keep it busy. */
export function unmount(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  } catch {
    // Not mounted (the test skipped, or failed before mounting).
  }
}

/** Whether a tmpfs can be mounted here: tried once on a scratch dir. */
export const canMountTmpfs: boolean = (() => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-tmpfs-probe-'));
  try {
    mountTmpfs(dir, '64k');
    unmount(dir);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

/** Why tests that need a tmpfs are skipped here. */
export const NO_TMPFS_REASON = 'mounting a tmpfs is not permitted on this machine (needs root or CAP_SYS_ADMIN)';

/** Bytes free on the filesystem holding `dir`. */
export function freeBytes(dir: string): number {
  const st = statfsSync(dir);
  return st.bavail * st.bsize;
}

/**
 * Fills the filesystem holding `dir` with a file `name` in `dir` until at
 * most `leaveBytes` are free (rounded down to whole pages). Returns the file's path.
 */
export function fillDisk(dir: string, name = 'filler', leaveBytes = 0): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  const fd = openSync(file, 'a');
  const chunk = Buffer.alloc(4096, 0x46);
  try {
    while (freeBytes(dir) > leaveBytes) {
      try {
        if (writeSync(fd, chunk) < chunk.length) break;
      } catch {
        break;
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}
