// Types for the parts of proc.mjs that TypeScript imports (the bench's tests); add a declaration here before importing another.
/** CPU time spent since a meter started: user and system together, and the system's (kernel's) part, in ms. */
export interface CpuUsed {
  readonly ms: number;
  readonly sysMs: number;
}
/** utime and stime of a process in clock ticks, or zeros if it is gone. */
export declare function cpuTicks(pid: number): { user: number; sys: number };
/** A meter of the CPU `pids` spend from now (every thread); a process gone counts nothing. */
export declare function cpuMeter(pids: readonly number[]): () => CpuUsed;
/** CPU and memory of each group of pids over `windowMs`. */
export declare function sampleGroups<K extends string>(
  groups: Record<K, readonly number[]>,
  windowMs: number,
): Promise<Record<K, { cpu_pct: number; rss_mib: number; private_mib: number; pss_mib: number }>>;
