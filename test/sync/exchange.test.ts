import { expect, it } from 'vitest';
import { encodeMessage } from '../../src/protocol/codec.js';
import { LIMITS } from '../../src/protocol/messages.js';
import { byEncodedSize } from '../../src/sync/exchange.js';
import type { FileEntry } from '../../src/index/entry.js';

it('splits an index batch of long paths and wide vectors so every message fits in a frame', () => {
  const version = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [i.toString(16).padStart(16, '0'), 2 ** 40 + i]));
  const entries: FileEntry[] = Array.from({ length: LIMITS.maxEntriesPerIndex }, (_, i) => ({
    path: `${'deep/'.repeat(700)}file-${i}`,
    type: 'file',
    size: 1,
    mtimeMs: 1,
    mode: 0o644,
    hash: 'a'.repeat(64),
    target: '',
    version,
    deleted: false,
    sequence: i + 1,
  }));
  const batches = byEncodedSize(entries);
  expect(batches.length).toBeGreaterThan(1);
  expect(batches.flat()).toHaveLength(entries.length);
  for (const batch of batches) {
    const frame = encodeMessage({ type: 'index', folder: 'f', indexId: '0'.repeat(16), reset: false, entries: batch });
    expect(frame.length).toBeLessThan(LIMITS.maxFrameBytes);
  }
});
