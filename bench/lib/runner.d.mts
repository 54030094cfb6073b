import type { Group } from './args.mjs';
import type { BenchResult } from './table.mjs';

/** What the runner needs of a system's driver. */
export interface Driver {
  readonly id: string;
  readonly label: string;
  supports(group: Group): boolean;
  runGroup(group: Group, rep: number): Promise<BenchResult[]>;
}

/** The items in the order they run in repetition `rep` (1-based): rotated by rep - 1. */
export declare function orderFor<T>(items: readonly T[], rep: number): T[];

/** Runs `groups` over `drivers`, alternating systems per repetition; resolves with every record. */
export declare function runSuite(opts: {
  drivers: readonly Driver[];
  groups: readonly Group[];
  reps: number;
  log: (line: string) => void;
  onResult?: (r: BenchResult) => void;
}): Promise<BenchResult[]>;
