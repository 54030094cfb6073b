/**
 * Picks how to compress the frames sent to one peer, from what the link and
 * the compressor have just done (the idea of `zstd --adapt`):
 *
 * - While frames wait on the network (the socket or the upload limit is the
 *   bottleneck) and the compressor has CPU to spare, compress harder: the
 *   ladder goes none -> lz4 -> zstd-1 -> zstd-3 -> zstd-6 -> zstd-9.
 * - When the link takes frames as fast as we make them, or compressing has
 *   become slower than the link, step back down, to none in the end: on a
 *   fast LAN raw is quickest.
 * - Data that does not shrink by a few percent goes raw. Per stream (a file),
 *   a chunk that did not shrink makes that stream skip compression for a
 *   while (backing off further each time), so a video among text files does
 *   not cost CPU for nothing; when most recent chunks do not shrink the whole
 *   link drops to raw and tries again later.
 *
 * Pure: time comes in as arguments and through `now`; the scheduler feeds
 * it measurements. `compression: none | lz4 | zstd` in the config forces the
 * codec (the per-stream back-off still applies).
 */
import { choiceName, type CodecChoice } from '../protocol/compression.js';

/** `compression` in the config. */
export type CompressionMode = 'auto' | 'none' | 'lz4' | 'zstd';

/** What status shows about a link's compression. */
export interface CodecStatus {
  readonly mode: CompressionMode;
  /** "none", "lz4", "zstd-3". */
  readonly codec: string;
  /** Wire bytes per raw byte over recent compressed chunks (1 = no gain); absent before any. */
  readonly ratio?: number;
  /** Bytes per second the link took while frames waited on it; absent while it never made us wait. */
  readonly networkBytesPerSecond?: number;
  /** Why this codec, in a few words. */
  readonly reason: string;
}

const LADDER: readonly CodecChoice[] = [
  { codec: 'none', level: 0 },
  { codec: 'lz4', level: 0 },
  { codec: 'zstd', level: 1 },
  { codec: 'zstd', level: 3 },
  { codec: 'zstd', level: 6 },
  { codec: 'zstd', level: 9 },
];
const FORCED: Record<Exclude<CompressionMode, 'auto'>, CodecChoice> = {
  none: { codec: 'none', level: 0 },
  lz4: { codec: 'lz4', level: 0 },
  zstd: { codec: 'zstd', level: 3 },
};

/** A chunk must shrink below this fraction of its size to be worth sending compressed. */
export const WORTH_RATIO = 0.97;
/** Between two steps on the ladder: long enough for the new level to show its effect. */
const STEP_MS = 200;
/** Frames waited on the network within this long: the link is the bottleneck. */
const NETWORK_BOUND_MS = 500;
/** Compressing must be this many times faster than the link before we compress harder. */
const CPU_HEADROOM = 2;
/** Weight of a new sample in the moving averages. */
const ALPHA = 0.25;
/** After the link dropped to raw because data did not shrink, try compressing again after this long (doubling). */
const RETRY_MS = 2_000;
const MAX_RETRY_MS = 60_000;
/** Chunks a stream skips after one that did not shrink (doubling per miss, up to the max). */
const STREAM_SKIP = 4;
const MAX_STREAM_SKIP = 64;
/** Streams remembered for the back-off; the oldest are forgotten first. */
const MAX_STREAMS = 1024;

interface LevelStats {
  /** Moving average of wire bytes / raw bytes. */
  ratio: number;
  /** Moving average of raw bytes compressed per second. */
  speed: number;
  samples: number;
}

export class CodecChooser {
  private level = 0;
  private readonly stats = LADDER.map((): LevelStats => ({ ratio: 1, speed: 0, samples: 0 }));
  private networkRate = 0;
  private lastNetworkBoundAt = -Infinity;
  private lastStepAt = -Infinity;
  /** Until then the link stays raw, because recent data did not compress. */
  private rawUntil = -Infinity;
  private retryMs = RETRY_MS;
  private readonly streams = new Map<string, { skip: number; nextSkip: number }>();
  /** The mode the last choice was made under: a change (a config edit) starts the link afresh. */
  private lastMode: CompressionMode | undefined;

  constructor(
    private readonly mode: () => CompressionMode,
    private readonly now: () => number,
  ) {}

  /** How to compress the next body of `stream` (a file's key; undefined for index and other messages). */
  choose(stream: string | undefined): CodecChoice {
    const base = this.current();
    if (base.codec === 'none' || stream === undefined) return base;
    const s = this.streams.get(stream);
    if (s !== undefined && s.skip > 0) {
      s.skip--;
      return FORCED.none;
    }
    return base;
  }

  /**
   * Compressing `rawBytes` of `stream` with `choice` took `cpuMs` and gave
   * `wireBytes` (a result not under WORTH_RATIO is sent raw by the caller).
   */
  recordCompression(stream: string | undefined, choice: CodecChoice, rawBytes: number, wireBytes: number, cpuMs: number): void {
    if (choice.codec === 'none' || rawBytes === 0) return;
    const ratio = wireBytes / rawBytes;
    const at = LADDER.findIndex((c) => c.codec === choice.codec && c.level === choice.level);
    if (at >= 0) {
      const st = this.stats[at]!;
      const speed = rawBytes / Math.max(cpuMs, 0.01) * 1000;
      st.ratio = st.samples === 0 ? ratio : st.ratio + ALPHA * (ratio - st.ratio);
      st.speed = st.samples === 0 ? speed : st.speed + ALPHA * (speed - st.speed);
      st.samples++;
    }
    if (stream !== undefined) this.recordStream(stream, ratio < WORTH_RATIO);
  }

  /** Frames waited on a link that took `bytesPerSecond`: the network is the bottleneck right now. */
  recordNetworkBound(bytesPerSecond: number): void {
    this.networkRate = this.networkRate === 0 ? bytesPerSecond : this.networkRate + ALPHA * (bytesPerSecond - this.networkRate);
    this.lastNetworkBoundAt = this.now();
  }

  /** The link's compression, for status. */
  status(): CodecStatus {
    const mode = this.mode();
    const choice = this.current();
    const st = this.stats[LADDER.indexOf(choice)];
    const ratio = st !== undefined && st.samples > 0 ? round3(st.ratio) : undefined;
    const networkBytesPerSecond = this.networkRate > 0 ? Math.round(this.networkRate) : undefined;
    return {
      mode,
      codec: choiceName(choice),
      ...(ratio === undefined ? {} : { ratio }),
      ...(networkBytesPerSecond === undefined ? {} : { networkBytesPerSecond }),
      reason: this.reason(mode, ratio),
    };
  }

  private current(): CodecChoice {
    const mode = this.mode();
    if (mode !== this.lastMode) this.startAfresh(mode);
    if (mode !== 'auto') return FORCED[mode];
    this.step();
    return LADDER[this.level]!;
  }

  /**
   * Forgets the back-offs: a user who sets another mode wants it to apply
   * now, not after a raw spell earned by data sent under the old one (a video
   * before `compression: none`, then text under `auto`, went raw for up to a
   * minute). What was learned of each level's speed and ratio is kept.
   */
  private startAfresh(mode: CompressionMode): void {
    this.lastMode = mode;
    this.level = 0;
    this.rawUntil = -Infinity;
    this.retryMs = RETRY_MS;
    this.lastStepAt = -Infinity;
    this.streams.clear();
  }

  /** Moves at most one rung per STEP_MS, on what the link and the compressor showed since. */
  private step(): void {
    const now = this.now();
    if (now - this.lastStepAt < STEP_MS) return;
    const here = this.stats[this.level]!;
    const networkBound = now - this.lastNetworkBoundAt <= NETWORK_BOUND_MS;
    if (now < this.rawUntil) {
      this.level = 0;
      return;
    }
    let next = this.level;
    if (this.level > 0 && here.samples > 0 && here.ratio >= WORTH_RATIO) {
      // Recent data does not compress: raw for a while, then look again.
      next = 0;
      this.rawUntil = now + this.retryMs;
      this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    } else if (!networkBound) {
      next = Math.max(0, this.level - 1);
    } else if (this.level === 0 || here.samples === 0) {
      // Waiting on the network with nothing learned at this rung yet: compressing can only help.
      next = this.level === 0 ? 1 : this.level;
    } else {
      const linkRaw = this.networkRate / here.ratio;
      if (here.speed < linkRaw) next = this.level - 1;
      else if (here.speed > CPU_HEADROOM * linkRaw && here.ratio < WORTH_RATIO) next = Math.min(LADDER.length - 1, this.level + 1);
    }
    if (here.samples > 0 && here.ratio < WORTH_RATIO) this.retryMs = RETRY_MS;
    if (next !== this.level) {
      this.level = next;
      this.lastStepAt = now;
    }
  }

  private recordStream(stream: string, shrank: boolean): void {
    let s = this.streams.get(stream);
    if (shrank) {
      if (s !== undefined) s.nextSkip = STREAM_SKIP;
      return;
    }
    if (s === undefined) {
      if (this.streams.size >= MAX_STREAMS) this.streams.delete(this.streams.keys().next().value!);
      s = { skip: 0, nextSkip: STREAM_SKIP };
      this.streams.set(stream, s);
    }
    s.skip = s.nextSkip;
    s.nextSkip = Math.min(MAX_STREAM_SKIP, s.nextSkip * 2);
  }

  private reason(mode: CompressionMode, ratio: number | undefined): string {
    if (mode !== 'auto') return `set to ${mode} in the config`;
    const now = this.now();
    if (now < this.rawUntil) return 'recent data did not compress; sending raw';
    const networkBound = now - this.lastNetworkBoundAt <= NETWORK_BOUND_MS;
    if (!networkBound) return 'the link keeps up; sending raw saves CPU';
    const pace = `${formatRate(this.networkRate)} link is the bottleneck`;
    if (this.level === 0) return `${pace}; trying compression`;
    return ratio === undefined ? pace : `${pace}; data shrinks to ${Math.round(ratio * 100)}%`;
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond >= 1e6) return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
  return `${Math.round(bytesPerSecond / 1e3)} kB/s`;
}
