/**
 * EarlyWriteback: one background flush per WRITEBACK_BYTES written, never two
 * at once, and a failed flush reported by settle() so the file is not renamed.
 */
import { describe, expect, it } from 'vitest';
import { EarlyWriteback } from '../../src/sync/pull/writeback.js';

/** A file handle whose datasync calls stay pending until the test settles them. */
function fakeHandle() {
  const calls: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  return {
    calls,
    datasync: () =>
      new Promise<void>((resolve, reject) => {
        calls.push({ resolve, reject });
      }),
  };
}

describe('EarlyWriteback', () => {
  it('starts a flush once enough bytes piled up, and no second one while it runs', async () => {
    const fh = fakeHandle();
    const wb = new EarlyWriteback(fh, 100);
    wb.wrote(60);
    expect(fh.calls).toHaveLength(0);
    wb.wrote(60);
    expect(fh.calls).toHaveLength(1);
    wb.wrote(500);
    expect(fh.calls).toHaveLength(1);
    fh.calls[0]?.resolve();
    await Promise.resolve();
    await Promise.resolve();
    // The bytes written during the flush still count towards the next one.
    wb.wrote(1);
    expect(fh.calls).toHaveLength(2);
    fh.calls[1]?.resolve();
    await expect(wb.settle()).resolves.toBeUndefined();
  });

  it('reports a failed flush at settle, even when later flushes succeed', async () => {
    const fh = fakeHandle();
    const wb = new EarlyWriteback(fh, 10);
    wb.wrote(10);
    fh.calls[0]?.reject(new Error('EIO'));
    await expect(wb.settle()).rejects.toThrow('EIO');
    wb.wrote(10);
    fh.calls[1]?.resolve();
    await expect(wb.settle()).rejects.toThrow('EIO');
  });

  it('settles at once when nothing was flushed', async () => {
    const fh = fakeHandle();
    const wb = new EarlyWriteback(fh, 10);
    wb.wrote(5);
    await expect(wb.settle()).resolves.toBeUndefined();
    expect(fh.calls).toHaveLength(0);
  });
});
