/**
 * What the daemon's process costs the machine, for status (and the metrics
 * of issue 19): memory by kind and the threads Wizard started. A user who
 * sees a large RSS can tell the JavaScript heap from native buffers and from
 * SQLite's and the libraries' memory (the rest of the RSS).
 */

/** The process's memory and Wizard's own threads. */
export interface ProcessStatus {
  /** Resident memory of the whole process. */
  readonly rssBytes: number;
  /** The JavaScript heap: used, and reserved by V8. */
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  /** Memory of objects outside the heap (Buffers among them), of which ArrayBuffers. */
  readonly externalBytes: number;
  readonly arrayBuffersBytes: number;
  /** Hashing and delta threads running now (they end when idle). */
  readonly workerThreads: number;
}

/** Reads the process's memory now; `workerThreads` comes from the pool. */
export function processStatus(workerThreads: number, usage: NodeJS.MemoryUsage = process.memoryUsage()): ProcessStatus {
  return {
    rssBytes: usage.rss,
    heapUsedBytes: usage.heapUsed,
    heapTotalBytes: usage.heapTotal,
    externalBytes: usage.external,
    arrayBuffersBytes: usage.arrayBuffers,
    workerThreads,
  };
}
