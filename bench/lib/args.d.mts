/** A system the suite can drive. */
export type SystemId = 'wizard' | 'syncthing' | 'rsync';

/** A workload name. */
export type Workload = 'LAT' | 'SMALL' | 'IDLE' | 'BIG' | 'EDIT' | 'SHIFT' | 'BURST' | 'MIXED' | 'SCALE' | 'SCALE-1M' | 'COMPRESS' | 'EDIT-4G';

/** Workloads that share one setup; 'first' groups run in repetition 1 only. */
export interface Group {
  readonly name: string;
  readonly workloads: readonly Workload[];
  readonly reps: 'first' | 'all';
  /** The one system that runs this group; the others record 'n/a' ("not run: Wizard alone"). */
  readonly only?: SystemId;
}

/** Systems the suite can drive; Wizard always runs, the others via --vs. */
export declare const SYSTEMS: readonly SystemId[];

/** Every workload, in run order. */
export declare const WORKLOADS: readonly Workload[];

/** Workloads a run leaves out unless --workloads names them. */
export declare const OPT_IN_WORKLOADS: readonly Workload[];

/** The workload groups, in run order. */
export declare const GROUPS: readonly Group[];

/** The records COMPRESS yields per system and repetition. */
export declare const COMPRESS_CASES: readonly string[];

/** A usage problem, reported as one line with exit code 2. */
export declare class ArgsError extends Error {}

/** What the command line asked for. */
export interface BenchOptions {
  help: boolean;
  quick: boolean;
  vs: Exclude<SystemId, 'wizard'>[];
  workloads: Workload[];
  reps: number | undefined;
  latReps: number | undefined;
  seed: number;
  syncthingDelayS: number;
  build: boolean;
  keepData: boolean;
  out: string | undefined;
  from: string | undefined;
  verbose: boolean;
}

/** The text of --help. */
export declare function usage(): string;

/** Parses argv (without node and script); throws ArgsError on anything unknown or malformed. */
export declare function parseArgs(argv: readonly string[]): BenchOptions;

/** The groups to run for a workload selection. */
export declare function planGroups(workloads: readonly Workload[]): Group[];
