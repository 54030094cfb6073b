/** The scheduler and a block answer's prebuilt frame (response-frame.ts): when it lets the frame's buffer go back to the pool. */
import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES } from '../../src/protocol/framing.js';
import { encodeResponseFrame } from '../../src/protocol/response-frame.js';
import { CodecChooser, type CompressionMode } from '../../src/transport/codec-chooser.js';
import { FrameScheduler } from '../../src/transport/scheduler.js';
import { FakeClock } from '../support/clock.js';

/** A socket stand-in that keeps each write's callback until the test says the socket wrote it. */
function setup(mode: CompressionMode) {
  const clock = new FakeClock(1_000_000);
  const writes: Array<{ frame: Buffer; written: (() => void) | undefined }> = [];
  const back: Buffer[] = [];
  const sink = {
    writableLength: 0,
    write: (frame: Buffer, written?: () => void) => void writes.push({ frame, written }),
  };
  const chooser = new CodecChooser(() => mode, () => clock.now());
  const scheduler = new FrameScheduler({ sink, clock, chooser, cpuNow: () => clock.now(), frameDone: (f) => void back.push(f) });
  return { scheduler, writes, back };
}

/** A block's answer as message-writer.ts queues it: the prebuilt frame and its body. */
function answer(data: Buffer): { framed: Buffer; body: Buffer } {
  const framed = encodeResponseFrame(1, data)!;
  return { framed, body: framed.subarray(FRAME_HEADER_BYTES) };
}

describe('FrameScheduler and prebuilt frames', () => {
  it('lets a frame sent as built go back only once the socket has written it', () => {
    const { scheduler, writes, back } = setup('none');
    const { framed, body } = answer(Buffer.alloc(256 * 1024, 7));
    scheduler.enqueue('bulk', body, 'f', framed);
    expect(writes.map((w) => w.frame)).toEqual([framed]);
    expect(back).toEqual([]);
    writes[0]!.written!();
    expect(back).toEqual([framed]);
  });

  it('lets a frame sent compressed go back at once: the compressed copy is what the socket holds', () => {
    const { scheduler, writes, back } = setup('zstd');
    const { framed, body } = answer(Buffer.from('all work and no play makes jack a dull boy\n'.repeat(8000)));
    scheduler.enqueue('bulk', body, 'f', framed);
    expect(writes).toHaveLength(1);
    expect(writes[0]!.frame).not.toBe(framed);
    expect(writes[0]!.frame.length).toBeLessThan(framed.length / 10);
    expect(back).toEqual([framed]);
  });

  it('gives back nothing for a frame it built itself', () => {
    const { scheduler, writes, back } = setup('none');
    scheduler.enqueue('small', Buffer.alloc(2000, 1));
    expect(writes).toHaveLength(1);
    expect(writes[0]!.written).toBeUndefined();
    expect(back).toEqual([]);
  });
});
