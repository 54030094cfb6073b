import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../src/protocol/framing.js';
import { CodecChooser, type CompressionMode } from '../../src/transport/codec-chooser.js';
import { FrameScheduler, HIGH_WATER, SMALL_RUN, type Lane } from '../../src/transport/scheduler.js';
import { TokenBucket } from '../../src/transport/token-bucket.js';
import { FakeClock } from '../support/clock.js';

/** A socket stand-in: holds what is written until the test lets the "network" take it. */
class FakeSink {
  readonly frames: Buffer[] = [];
  writableLength = 0;
  write(frame: Buffer): boolean {
    this.frames.push(frame);
    this.writableLength += frame.length;
    return true;
  }
  /** The network takes everything written so far. */
  drain(): void {
    this.writableLength = 0;
  }
}

/** A body whose first byte names it, so the order on the wire can be read back. */
function body(tag: string, size: number): Buffer {
  const b = Buffer.alloc(size, 0);
  b.write(tag.padEnd(8, ' '));
  // A pseudo-random tail (xorshift), so it does not compress.
  let x = size | 1;
  for (let i = 8; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function setup(opts: { mode?: CompressionMode; uploadRate?: number; peerOnThisMachine?: boolean } = {}) {
  const clock = new FakeClock(1_000_000);
  const sink = new FakeSink();
  const chooser = new CodecChooser(() => opts.mode ?? 'none', () => clock.now());
  const upload = opts.uploadRate === undefined ? undefined : new TokenBucket(() => opts.uploadRate!, () => clock.now());
  const scheduler = new FrameScheduler({ sink, clock, chooser, ...(upload === undefined ? {} : { upload }), cpuNow: () => clock.now(), peerOnThisMachine: opts.peerOnThisMachine === true });
  /** Tags of the frames on the wire, in order, decoded as the peer would. */
  const wire = () => {
    const decoder = new FrameDecoder();
    return sink.frames.flatMap((f) => decoder.push(f)).map((b) => b.subarray(0, 8).toString().trim());
  };
  return { clock, sink, chooser, scheduler, wire };
}

describe('FrameScheduler', () => {
  it('corks the socket for the rest of the tick, so frames written together leave together', async () => {
    const clock = new FakeClock(1_000_000);
    const calls: string[] = [];
    const sink = {
      writableLength: 0,
      write: () => void calls.push('write'),
      cork: () => void calls.push('cork'),
      uncork: () => void calls.push('uncork'),
    };
    const chooser = new CodecChooser(() => 'none', () => clock.now());
    const scheduler = new FrameScheduler({ sink, clock, chooser, cpuNow: () => clock.now() });
    for (let i = 0; i < 3; i++) scheduler.enqueue('control', body(`c${i}`, 20));
    expect(calls).toEqual(['cork', 'write', 'write', 'write']);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(calls.at(-1)).toBe('uncork');
    scheduler.enqueue('control', body('c3', 20));
    expect(calls.slice(-2)).toEqual(['cork', 'write']);
  });

  it('writes straight through while the socket has room', () => {
    const { scheduler, wire } = setup();
    scheduler.enqueue('bulk', body('b1', 1000), 'big');
    scheduler.enqueue('control', body('c1', 20));
    expect(wire()).toEqual(['b1', 'c1']);
    expect(scheduler.queuedBytes).toBe(0);
  });

  it('keeps at most HIGH_WATER (plus one frame) in the socket; the rest waits in the scheduler', () => {
    const { scheduler, sink } = setup();
    for (let i = 0; i < 20; i++) scheduler.enqueue('bulk', body(`b${i}`, 64 * 1024), 'big');
    expect(sink.writableLength).toBeGreaterThanOrEqual(HIGH_WATER);
    expect(sink.writableLength).toBeLessThan(HIGH_WATER + 64 * 1024 + 100);
    expect(scheduler.queuedBytes).toBeGreaterThan(0);
  });

  it('sends control, then index, then small, then bulk, whatever the order they were queued in', () => {
    const { scheduler, sink, wire } = setup();
    // Fill the socket so everything below has to wait in its lane.
    scheduler.enqueue('bulk', body('fill', HIGH_WATER), 'big');
    const queue: Array<[Lane, string, string?]> = [
      ['bulk', 'bulk1', 'big'],
      ['small', 'small1'],
      ['index', 'index1'],
      ['control', 'ctl1'],
      ['bulk', 'bulk2', 'big'],
      ['control', 'ctl2'],
    ];
    for (const [lane, tag, stream] of queue) scheduler.enqueue(lane, body(tag, 600), stream);
    sink.drain();
    scheduler.pump();
    expect(wire()).toEqual(['fill', 'ctl1', 'ctl2', 'index1', 'small1', 'bulk1', 'bulk2']);
  });

  it('puts a new small file ahead of a large transfer that is already queued', () => {
    const { scheduler, sink, wire } = setup();
    for (let i = 0; i < 64; i++) scheduler.enqueue('bulk', body(`big${i}`, 64 * 1024), 'huge.iso');
    const before = wire().length;
    scheduler.enqueue('small', body('note', 4096));
    sink.drain();
    scheduler.pump();
    // The very next frame after what the socket already held.
    expect(wire()[before]).toBe('note');
  });

  it('takes bulk streams in turn', () => {
    const { scheduler, sink, wire } = setup();
    scheduler.enqueue('bulk', body('fill', HIGH_WATER), 'x');
    for (let i = 0; i < 3; i++) {
      scheduler.enqueue('bulk', body(`a${i}`, 600), 'a');
      scheduler.enqueue('bulk', body(`b${i}`, 600), 'b');
    }
    scheduler.enqueue('bulk', body('c0', 600), 'c');
    sink.drain();
    scheduler.pump();
    expect(wire()).toEqual(['fill', 'a0', 'b0', 'c0', 'a1', 'b1', 'a2', 'b2']);
  });

  it(`lets one bulk frame through after every ${SMALL_RUN} small ones, so small files cannot starve a big one`, () => {
    const { scheduler, sink, wire } = setup();
    scheduler.enqueue('bulk', body('fill', HIGH_WATER), 'x');
    for (let i = 0; i < 10; i++) scheduler.enqueue('small', body(`s${i}`, 600));
    for (let i = 0; i < 3; i++) scheduler.enqueue('bulk', body(`b${i}`, 600), 'big');
    sink.drain();
    scheduler.pump();
    expect(wire()).toEqual(['fill', 's0', 's1', 's2', 's3', 'b0', 's4', 's5', 's6', 's7', 'b1', 's8', 's9', 'b2']);
  });

  it('holds frames back to the upload limit and sends them as the bucket refills', () => {
    const { scheduler, clock, wire, chooser } = setup({ uploadRate: 10_000 });
    for (let i = 0; i < 5; i++) scheduler.enqueue('bulk', body(`b${i}`, 5000), 'f');
    // The first frame overdraws the bucket by half a second; the rest wait.
    expect(wire()).toEqual(['b0']);
    clock.advance(499);
    expect(wire()).toHaveLength(1);
    clock.advance(2);
    expect(wire()).toEqual(['b0', 'b1']);
    clock.advance(600);
    clock.advance(600);
    expect(wire()).toHaveLength(4);
    // Waiting on the limit tells the chooser the link is the bottleneck, at the limit's pace.
    expect(chooser.status().networkBytesPerSecond).toBe(10_000);
  });

  it('compresses the frames sent after a wait on the upload limit longer than the chooser\'s window for a network-bound link', () => {
    const { scheduler, clock, sink } = setup({ mode: 'auto', uploadRate: 10_000 });
    const text = Buffer.from('all work and no play makes jack a dull boy\n'.repeat(200));
    // Nothing has waited yet: the first frame goes raw and overdraws the bucket by most of a second.
    scheduler.enqueue('bulk', text, 'f');
    scheduler.enqueue('bulk', text, 'f');
    expect(sink.frames).toHaveLength(1);
    expect(sink.frames[0]!.length).toBe(text.length + 4);
    clock.advance(Math.ceil((text.length / 10_000) * 1000) + 1);
    expect(sink.frames).toHaveLength(2);
    expect(sink.frames[1]!.length).toBeLessThan(text.length / 2);
  });

  it('measures how fast the socket drains while frames wait on it', () => {
    const { scheduler, clock, sink, chooser } = setup({ mode: 'auto' });
    for (let i = 0; i < 10; i++) scheduler.enqueue('bulk', body(`b${i}`, 64 * 1024), 'f');
    const inSocket = sink.writableLength;
    clock.advance(100);
    sink.drain();
    scheduler.pump();
    const rate = chooser.status().networkBytesPerSecond!;
    expect(rate).toBeGreaterThan((inSocket / 0.1) * 0.95);
    expect(rate).toBeLessThan((inSocket / 0.1) * 1.05);
  });

  it('takes a slow drain to a peer on this machine for its CPU, not the link: it stays raw, while the upload limit still makes it compress', () => {
    const text = Buffer.from('all work and no play makes jack a dull boy\n'.repeat(2000));
    for (const [peerOnThisMachine, shrinks] of [[true, false], [false, true]] as const) {
      const { scheduler, clock, sink, chooser } = setup({ mode: 'auto', peerOnThisMachine });
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 10; i++) scheduler.enqueue('bulk', text, 'f');
        clock.advance(300);
        sink.drain();
        scheduler.pump();
      }
      const last = sink.frames.at(-1)!;
      expect(last.length < text.length / 2, `peerOnThisMachine ${peerOnThisMachine}`).toBe(shrinks);
      expect(chooser.status().networkBytesPerSecond === undefined).toBe(peerOnThisMachine);
    }
    const limited = setup({ mode: 'auto', uploadRate: 10_000, peerOnThisMachine: true });
    limited.scheduler.enqueue('bulk', text.subarray(0, 8600), 'f');
    limited.scheduler.enqueue('bulk', text.subarray(0, 8600), 'f');
    limited.clock.advance(1_000);
    expect(limited.sink.frames[1]!.length).toBeLessThan(8600 / 2);
  });

  it('compresses what shrinks and sends the rest raw; the peer decodes both', () => {
    const { scheduler, sink } = setup({ mode: 'zstd' });
    const text = Buffer.from('all work and no play makes jack a dull boy\n'.repeat(1000));
    const noise = body('noise', 40_000);
    scheduler.enqueue('small', text);
    scheduler.enqueue('small', noise);
    expect(sink.frames[0]!.length).toBeLessThan(text.length / 10);
    expect(sink.frames[1]!.length).toBe(noise.length + 4);
    const decoded = sink.frames.flatMap((f) => new FrameDecoder().push(f));
    expect(decoded[0]!.equals(text)).toBe(true);
    expect(decoded[1]!.equals(noise)).toBe(true);
    expect(scheduler.bytesWritten).toBeLessThan(noise.length + text.length / 10);
  });

  it('drops what waits when closed, and ignores later frames', () => {
    const { scheduler, sink } = setup();
    for (let i = 0; i < 20; i++) scheduler.enqueue('bulk', body(`b${i}`, 64 * 1024), 'big');
    const written = sink.frames.length;
    scheduler.close();
    expect(scheduler.queuedBytes).toBe(0);
    sink.drain();
    scheduler.enqueue('control', body('late', 20));
    scheduler.pump();
    expect(sink.frames).toHaveLength(written);
  });
});
