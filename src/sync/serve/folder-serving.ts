/**
 * Answers a peer's requests for one folder's files: blocks (a big file held
 * open across a pull's requests, held-files.ts) and block sums, each only for
 * the version the index has (serve.ts).
 */
import type { Clock } from '../../core/clock.js';
import type { IndexStore } from '../../index/store.js';
import type { JobRunner } from '../../workers/pool.js';
import { HeldFiles } from './held-files.js';
import { openToServe, readBlock, readSums, type HashGate, type WireSums } from './serve.js';

/** What serving a folder needs. */
export interface FolderServingDeps {
  readonly root: string;
  readonly id: string;
  readonly store: Pick<IndexStore, 'getLocal' | 'sums'>;
  readonly runner: JobRunner;
  readonly clock: Pick<Clock, 'setTimer'>;
  /** Where an index path is on disk (disk-names.ts). */
  readonly onDisk: (rel: string) => string;
}

/** One folder's answers to block and sums requests. */
export class FolderServing {
  private readonly held: HeldFiles;

  constructor(private readonly deps: FolderServingDeps) {
    this.held = new HeldFiles(deps.clock, openToServe);
  }

  /** Answers a peer's block request. */
  readBlock(req: { path: string; hash: string; offset: number; length: number }): Promise<Buffer> {
    const { root, store, id, onDisk } = this.deps;
    return readBlock(root, store.getLocal(id, req.path), req, onDisk(req.path), this.held);
  }

  /** Answers a peer's block sums request; `gate` runs any hashing it takes (the serving budget). */
  readSums(req: { path: string; hash: string; blockSize: number; first: number; count: number; group: number }, gate?: HashGate): Promise<WireSums> {
    const { root, store, id, runner, onDisk } = this.deps;
    return readSums(root, store.getLocal(id, req.path), req, store.sums.get(id, req.path, req.hash), runner, gate, onDisk(req.path));
  }

  /** Lets go of the files held open: the folder stopped. */
  close(): void {
    this.held.closeAll();
  }
}
