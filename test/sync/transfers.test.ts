/**
 * TransferBook: progress, rate and ETA of downloads in progress, by a fake clock.
 */
import { describe, expect, it } from 'vitest';
import { TransferBook } from '../../src/sync/pull/transfers.js';
import { FakeClock } from '../support/clock.js';

describe('TransferBook', () => {
  it('reports bytes done, rate and ETA, and forgets a transfer once ended', () => {
    const clock = new FakeClock(1_000_000);
    const book = new TransferBook(() => clock.now());
    book.begin('big.bin', 1000, ['p1']);
    expect(book.list()).toEqual([{ path: 'big.bin', peers: ['p1'], bytesDone: 0, bytesTotal: 1000, startedAtMs: 1_000_000, bytesPerSecond: 0 }]);
    clock.advance(2000);
    book.add('big.bin', 400);
    expect(book.list()[0]).toMatchObject({ bytesDone: 400, bytesPerSecond: 200, etaSeconds: 3 });
    book.add('big.bin', 10_000);
    expect(book.list()[0]?.bytesDone).toBe(1000);
    book.end('big.bin');
    expect(book.list()).toEqual([]);
  });

  it('ignores bytes of paths it does not track, and lists the biggest remainder first', () => {
    const book = new TransferBook(() => 0);
    book.add('stray', 5);
    book.begin('small', 10, []);
    book.begin('large', 100, []);
    expect(book.list().map((t) => t.path)).toEqual(['large', 'small']);
  });
});
