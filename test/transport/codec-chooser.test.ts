import { describe, expect, it } from 'vitest';
import { CodecChooser, type CompressionMode } from '../../src/transport/codec-chooser.js';
import type { CodecChoice } from '../../src/protocol/compression.js';
import { choiceName } from '../../src/protocol/compression.js';

const SOURCE_MS = 1;

/**
 * A simulated link: each step the chooser picks a codec for a 256 KiB chunk,
 * the "compressor" reports the given ratio and speed for that codec, and the
 * link reports itself the bottleneck when it is slower than both the
 * compressor and the source (which reads a chunk per millisecond, 256 MB/s).
 */
function drive(
  opts: { mode?: CompressionMode; linkBytesPerSecond: number; ratio: (c: CodecChoice) => number; speed: (c: CodecChoice) => number; steps?: number },
) {
  const t = { ms: 0 };
  const chooser = new CodecChooser(() => opts.mode ?? 'auto', () => t.ms);
  const seen: string[] = [];
  for (let i = 0; i < (opts.steps ?? 2000); i++) {
    const choice = chooser.choose(undefined);
    seen.push(choiceName(choice));
    const raw = 256 * 1024;
    const ratio = choice.codec === 'none' ? 1 : opts.ratio(choice);
    const cpuMs = choice.codec === 'none' ? 0 : (raw / opts.speed(choice)) * 1000;
    chooser.recordCompression(undefined, choice, raw, Math.round(raw * ratio), cpuMs);
    const wire = ratio < 0.97 ? raw * ratio : raw;
    const linkMs = (wire / opts.linkBytesPerSecond) * 1000;
    // Whichever is slowest sets the pace; the link is "network-bound" when it is the slowest.
    if (linkMs > Math.max(cpuMs, SOURCE_MS)) chooser.recordNetworkBound(opts.linkBytesPerSecond);
    t.ms += Math.max(linkMs, cpuMs, SOURCE_MS);
  }
  return { chooser, seen, last: seen[seen.length - 1] };
}

const levelSpeed = (c: CodecChoice) => (c.codec === 'lz4' ? 400e6 : c.codec === 'zstd' ? 300e6 / c.level : Infinity);

describe('CodecChooser', () => {
  it('sends raw on a link that keeps up', () => {
    const { last, chooser } = drive({ linkBytesPerSecond: 5e9, ratio: () => 0.3, speed: levelSpeed });
    expect(last).toBe('none');
    expect(chooser.status().reason).toMatch(/link keeps up/);
  });

  it('climbs to zstd on a slow link with compressible data', () => {
    const { last, chooser } = drive({ linkBytesPerSecond: 1e6, ratio: (c) => (c.codec === 'lz4' ? 0.5 : 0.3), speed: levelSpeed });
    expect(last).toMatch(/^zstd-/);
    const s = chooser.status();
    expect(s.ratio).toBeCloseTo(0.3, 2);
    expect(s.networkBytesPerSecond).toBe(1e6);
    expect(s.reason).toMatch(/1\.0 MB\/s link is the bottleneck; data shrinks to 30%/);
  });

  it('stops climbing where compressing would become slower than the link', () => {
    // zstd-6 at 50 MB/s and zstd-9 at 33 MB/s are too slow for a 40 MB/s link at ratio 0.5 (80 MB/s of raw data).
    const { seen } = drive({ linkBytesPerSecond: 40e6, ratio: () => 0.5, speed: levelSpeed, steps: 4000 });
    expect(seen.slice(-50)).not.toContain('zstd-9');
    expect(seen.slice(-50).some((c) => c !== 'none')).toBe(true);
  });

  it('drops to raw when the data does not compress, and tries again later', () => {
    const { seen, chooser } = drive({ linkBytesPerSecond: 1e6, ratio: () => 1.01, speed: levelSpeed, steps: 200 });
    // 200 chunks of 256 KiB on a 1 MB/s link: about 52 s, so the retries back off to 2, 4, 8, 16 s apart.
    const compressed = seen.filter((c) => c !== 'none').length;
    // A few probes, backing off: most chunks go raw.
    expect(compressed).toBeGreaterThan(0);
    expect(compressed).toBeLessThan(20);
    expect(chooser.status().codec).toBe('none');
  });

  it('starts afresh when the config changes the mode: data that did not compress under one mode holds no raw spell over the next', () => {
    const t = { ms: 0 };
    let mode: CompressionMode = 'auto';
    const chooser = new CodecChooser(() => mode, () => t.ms);
    const chunk = (ratio: number) => {
      const choice = chooser.choose(undefined);
      chooser.recordCompression(undefined, choice, 256 * 1024, Math.round(256 * 1024 * (choice.codec === 'none' ? 1 : ratio)), 1);
      chooser.recordNetworkBound(1e6);
      t.ms += 250;
      return choiceName(choice);
    };
    // Incompressible data on a slow link: the chooser probes, then backs off to raw for longer each time.
    for (let i = 0; i < 400; i++) chunk(1.01);
    // Right after a probe that did not shrink: the link has just earned a raw spell of half a minute or more.
    while (chunk(1.01) === 'none');
    chunk(1.01);
    mode = 'none';
    for (let i = 0; i < 4; i++) expect(chunk(0.3)).toBe('none');
    // Back to auto with text: it compresses within a few chunks, not after the back-off earned before.
    mode = 'auto';
    const seen = Array.from({ length: 6 }, () => chunk(0.3));
    expect(seen.some((c) => c !== 'none')).toBe(true);
  });

  it('follows the mode the config forces', () => {
    expect(drive({ mode: 'zstd', linkBytesPerSecond: 5e9, ratio: () => 0.3, speed: levelSpeed }).last).toBe('zstd-3');
    expect(drive({ mode: 'lz4', linkBytesPerSecond: 1e3, ratio: () => 0.3, speed: levelSpeed }).last).toBe('lz4');
    const none = drive({ mode: 'none', linkBytesPerSecond: 1e3, ratio: () => 0.3, speed: levelSpeed });
    expect(none.seen.every((c) => c === 'none')).toBe(true);
    expect(none.chooser.status().reason).toBe('set to none in the config');
  });

  it('backs off per stream: a file that does not shrink skips compression for more chunks each time', () => {
    const chooser = new CodecChooser(() => 'lz4', () => 0);
    const picks: string[] = [];
    for (let i = 0; i < 40; i++) {
      const choice = chooser.choose('video.mp4');
      picks.push(choice.codec);
      chooser.recordCompression('video.mp4', choice, 1000, 1000, 0.1);
    }
    // Tried at 0, then skips 4, tries, skips 8, tries, skips 16, tries.
    expect(picks.flatMap((c, i) => (c === 'lz4' ? [i] : []))).toEqual([0, 5, 14, 31]);
    // Another stream is not affected.
    expect(chooser.choose('notes.txt').codec).toBe('lz4');
  });
});
