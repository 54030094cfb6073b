/**
 * The comparison of what the disk holds at one path with the index entry
 * for it: what a scan decides per path, apart from the walk that looks.
 */
import { ownDiskName } from './disk-names.js';
import type { LocalEntry } from './entry.js';
import type { Observation } from './scanner.js';

/** How an observation relates to the index entry for the same path. */
export type Classification =
  /** Nothing changed. */
  | 'same'
  /** Content may have changed: hash it (files) or record it (dirs, links). */
  | 'changed'
  /** Only the permission bits changed. */
  | 'mode';

/** What of an index entry the comparison reads: no version, no hash (a scan reads only these for an unchanged path). */
export type ComparedEntry = Pick<LocalEntry, 'type' | 'size' | 'mtimeMs' | 'mode' | 'target' | 'deleted' | 'inode' | 'diskName'>;

/** Compares what the disk holds with what the index says. Pure. */
export function classify(obs: Observation, entry: ComparedEntry | undefined): Classification {
  if (entry === undefined || entry.deleted || entry.type !== obs.type) return 'changed';
  // Renamed to another spelling of the same NFC name: what is recorded must say where it is now.
  if ((entry.diskName ?? '') !== ownDiskName(obs.path, obs.diskPath)) return 'changed';
  switch (obs.type) {
    case 'file':
      if (obs.size !== entry.size || obs.mtimeMs !== entry.mtimeMs || obs.inode !== entry.inode) return 'changed';
      break;
    case 'symlink':
      if (obs.target !== entry.target) return 'changed';
      return 'same';
    case 'dir':
      break;
  }
  return (obs.mode & 0o777) !== (entry.mode & 0o777) ? 'mode' : 'same';
}
