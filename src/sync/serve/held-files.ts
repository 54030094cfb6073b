/**
 * Big files being served, kept open across a window of block requests. A
 * peer pulling a big file asks for it one block after another, and opening,
 * checking and closing it for each block cost four calls through libuv's pool
 * per block (1.7 s of the sender's main thread for BIG's 512 MiB at 256 KiB a
 * block, under load): held open, a block costs its read and the check after it.
 *
 * A held descriptor is used only while it is still the file the index
 * describes at that path: the path must still name its inode (a synchronous
 * lstat, as cheap as the ancestor checks every request makes), and after each
 * read its stat must still match the index entry, as readBlock checks an open
 * of its own. A file idle for HOLD_MS is closed; at most MAX_HELD are open.
 */
import { lstatSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Clock } from '../../core/clock.js';
import { sameStat, statKey, type StatKey } from '../../index/hash.js';

/** How long a served file stays open after its last request: longer than the gap between a pull's requests, short enough not to pin a deleted file's space. */
export const HOLD_MS = 2_000;
/** Most files held open at once (per folder): a pull asks for a few big files at a time (transfer slots). */
export const MAX_HELD = 16;

/** Opens a file for serving; rejects as `fs.open` does. */
export type OpenToServe = (abs: string) => Promise<FileHandle>;

interface Held {
  readonly fh: FileHandle;
  readonly key: StatKey;
  users: number;
  cancelIdle: (() => void) | undefined;
  /** Forgotten: closed once its last user is done. */
  dropped: boolean;
  closed: boolean;
}

/** A file held for serving, lent to one read: its handle and a way to give it back. */
export interface HeldLease {
  readonly fh: FileHandle;
  /** Gives the file back; with `changed`, it no longer matches the index (or a read of it failed) and is closed. */
  release(changed?: boolean): void;
}

/** Open descriptors of files being served, by absolute path, each lent to any number of reads at once. */
export class HeldFiles {
  private readonly files = new Map<string, Held>();
  /** Opens under way, by path. */
  private readonly opening = new Map<string, Promise<Held | undefined>>();

  constructor(
    private readonly clock: Pick<Clock, 'setTimer'>,
    private readonly openFile: OpenToServe,
    private readonly holdMs = HOLD_MS,
    private readonly max = MAX_HELD,
  ) {}

  /** Files open now. */
  get size(): number {
    return this.files.size;
  }

  /**
   * A handle on the file at `abs` whose stat is `indexed`: the held one when
   * the path still names it, else a new one, checked against `indexed` after
   * opening. Undefined when the file at `abs` is not the one indexed any more;
   * rejects when it cannot be opened.
   */
  async lease(abs: string, indexed: StatKey): Promise<HeldLease | undefined> {
    // A window of requests arrives at once: the first opens the file, the others wait for it and share it.
    const pending = this.opening.get(abs);
    if (pending !== undefined) await pending.catch(() => undefined);
    const cur = this.files.get(abs);
    if (cur !== undefined && sameStat(cur.key, indexed) && namesInode(abs, cur.key.inode)) return this.lend(abs, cur);
    if (cur !== undefined) this.drop(abs, cur);
    const opening = this.open(abs, indexed);
    this.opening.set(abs, opening);
    let held: Held | undefined;
    try {
      held = await opening;
    } finally {
      if (this.opening.get(abs) === opening) this.opening.delete(abs);
    }
    if (held === undefined) return undefined;
    // Another file by this path got held meanwhile, or every held file is in use: this one serves one read.
    if (this.files.has(abs) || !this.makeRoom()) held.dropped = true;
    else this.files.set(abs, held);
    return this.lend(abs, held);
  }

  /** Closes every file not in use now, and the others as their reads end: the folder is stopping. */
  closeAll(): void {
    for (const [abs, held] of [...this.files]) this.drop(abs, held);
  }

  /** The file at `abs`, opened and checked against `indexed`; undefined when it is not that file. */
  private async open(abs: string, indexed: StatKey): Promise<Held | undefined> {
    const fh = await this.openFile(abs);
    let key: StatKey;
    try {
      key = statKey(await fh.stat());
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
    if (!sameStat(key, indexed)) {
      await fh.close().catch(() => undefined);
      return undefined;
    }
    return { fh, key, users: 0, cancelIdle: undefined, dropped: false, closed: false };
  }

  private lend(abs: string, held: Held): HeldLease {
    held.users++;
    held.cancelIdle?.();
    held.cancelIdle = undefined;
    let done = false;
    return {
      fh: held.fh,
      release: (changed = false) => {
        if (done) return;
        done = true;
        held.users--;
        if (changed) this.drop(abs, held);
        else if (held.dropped) this.closeIfUnused(held);
        else if (held.users === 0) held.cancelIdle = this.clock.setTimer(this.holdMs, () => this.drop(abs, held));
      },
    };
  }

  /** Whether another file may be held: there is room, or an idle one gives up its place. */
  private makeRoom(): boolean {
    if (this.files.size < this.max) return true;
    for (const [abs, held] of this.files) {
      if (held.users === 0) {
        this.drop(abs, held);
        return true;
      }
    }
    return false;
  }

  private drop(abs: string, held: Held): void {
    if (this.files.get(abs) === held) this.files.delete(abs);
    held.dropped = true;
    held.cancelIdle?.();
    held.cancelIdle = undefined;
    this.closeIfUnused(held);
  }

  private closeIfUnused(held: Held): void {
    if (held.users > 0 || held.closed) return;
    held.closed = true;
    void held.fh.close().catch(() => undefined);
  }
}

/** Whether the path `abs` itself (not a link's target) is still the file with inode `inode`. */
function namesInode(abs: string, inode: number): boolean {
  try {
    return Number(lstatSync(abs).ino) === inode;
  } catch {
    return false;
  }
}
