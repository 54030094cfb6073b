/**
 * The files a folder is downloading right now, with their progress, for
 * status: bytes done of total, since when, from whom. In memory only.
 */

/** One download in progress, as status shows it. */
export interface TransferStatus {
  readonly path: string;
  /** Peers the blocks are asked from. */
  readonly peers: string[];
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly startedAtMs: number;
  /** Average since the start; 0 until the first block arrived. */
  readonly bytesPerSecond: number;
  /** Seconds left at that rate; undefined until there is a rate. */
  readonly etaSeconds?: number;
}

/** The folder's downloads in progress. */
export class TransferBook {
  private readonly active = new Map<string, { peers: string[]; done: number; total: number; startedAtMs: number }>();

  constructor(private readonly now: () => number) {}

  /** A download of `path` (`total` bytes) from `peers` starts. */
  begin(path: string, total: number, peers: readonly string[]): void {
    this.active.set(path, { peers: [...peers], done: 0, total, startedAtMs: this.now() });
  }

  /** `bytes` more of `path` arrived; ignored when no download of it is registered. */
  add(path: string, bytes: number): void {
    const t = this.active.get(path);
    if (t !== undefined) t.done = Math.min(t.total, t.done + bytes);
  }

  /** The download of `path` ended, whether it succeeded or not. */
  end(path: string): void {
    this.active.delete(path);
  }

  /** Every download in progress, biggest remainder first. */
  list(): TransferStatus[] {
    const now = this.now();
    return [...this.active.entries()]
      .map(([path, t]) => {
        const seconds = (now - t.startedAtMs) / 1000;
        const rate = seconds > 0 && t.done > 0 ? t.done / seconds : 0;
        return {
          path,
          peers: t.peers,
          bytesDone: t.done,
          bytesTotal: t.total,
          startedAtMs: t.startedAtMs,
          bytesPerSecond: Math.round(rate),
          ...(rate > 0 ? { etaSeconds: Math.ceil((t.total - t.done) / rate) } : {}),
        };
      })
      .sort((a, b) => b.bytesTotal - b.bytesDone - (a.bytesTotal - a.bytesDone));
  }
}
