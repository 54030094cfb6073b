/** Count and size range of a many-files workload. */
export interface FilesSpec {
  readonly files: number;
  readonly minBytes: number;
  readonly maxBytes: number;
}

/** Workload sizes, repetitions and pauses of one profile. */
export interface Profile {
  readonly name: 'full' | 'quick';
  readonly reps: number;
  readonly latReps: number;
  readonly latGapMs: number;
  readonly small: FilesSpec;
  readonly bigBytes: number;
  readonly shiftBytes: number;
  readonly burst: FilesSpec;
  readonly mixedBigBytes: number;
  readonly mixedSmallFiles: number;
  readonly scale: FilesSpec;
  /** SCALE-1M: files in `topDirs` dirs of 9 subdirs each, with its own index and rescan timeouts. */
  readonly scale1m: FilesSpec & { readonly topDirs: number; readonly indexTimeoutMs: number; readonly rescanTimeoutMs: number };
  /** COMPRESS: the size of each file, and the upload limit (bytes/s) of the slow-link case. */
  readonly compress: { readonly bytes: number; readonly slowLinkBytesPerS: number };
  readonly idleSettleMs: number;
  readonly idleWindowMs: number;
  readonly settleMs: number;
  readonly afterSyncMs: number;
  readonly syncTimeoutMs: number;
}

/** Full-size workloads: the shared anchor harness's sizes, plus SCALE. */
export declare const FULL: Profile;

/** Reduced sizes, 1 repetition. */
export declare const QUICK: Profile;

/** The profile for `--quick` or not. */
export declare function profileFor(quick: boolean): Profile;

/** One line naming every workload size of a profile. */
export declare function describeProfile(p: Profile): string;
