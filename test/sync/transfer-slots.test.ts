import { describe, expect, it } from 'vitest';
import { SHARED_SLOT_BYTES, SHARED_SLOT_FILES, SHARED_SLOT_TOTAL_BYTES, SMALL_TRANSFER_BYTES, TransferSlots } from '../../src/sync/pull/transfer-slots.js';

const BIG = SMALL_TRANSFER_BYTES + 1;
/** Small (its own queue) but too big to share a slot. */
const SMALL = SHARED_SLOT_BYTES + 1;
/** Small enough to share a slot. */
const TINY = 4096;

/** A download that runs until the test finishes it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Lets queued starts and finishes run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TransferSlots', () => {
  it('never runs more downloads than the limit, and starts the next as one ends', async () => {
    const slots = new TransferSlots(() => 3);
    const gates = Array.from({ length: 10 }, gate);
    const started: number[] = [];
    const done = gates.map((g, i) =>
      slots.run(SMALL, async () => {
        started.push(i);
        await g.promise;
      }),
    );
    await settle();
    expect(started).toEqual([0, 1, 2]);
    gates[1]?.open();
    await settle();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const g of gates) g.open();
    await Promise.all(done);
    expect(slots.mostActive).toBe(3);
    expect(slots.active).toBe(0);
  });

  it('keeps the last slot for small files however many big ones wait', async () => {
    const slots = new TransferSlots(() => 2);
    const big = Array.from({ length: 3 }, gate);
    const started: string[] = [];
    for (const [i, g] of big.entries()) {
      void slots.run(BIG, async () => {
        started.push(`big${i}`);
        await g.promise;
      });
    }
    await settle();
    expect(started).toEqual(['big0']);
    await slots.run(SMALL, () => {
      started.push('small');
      return Promise.resolve();
    });
    expect(started).toEqual(['big0', 'small']);
    expect(slots.queued).toBe(2);
    for (const g of big) g.open();
  });

  it('starts small files before big ones that queued earlier', async () => {
    const slots = new TransferSlots(() => 1);
    const first = gate();
    const order: string[] = [];
    void slots.run(SMALL, () => first.promise);
    const big = slots.run(BIG, () => {
      order.push('big');
      return Promise.resolve();
    });
    const small = slots.run(SMALL, () => {
      order.push('small');
      return Promise.resolve();
    });
    first.open();
    await Promise.all([big, small]);
    expect(order).toEqual(['small', 'big']);
  });

  it('with one slot, runs a big file alone', async () => {
    const slots = new TransferSlots(() => 1);
    const g = gate();
    const started: string[] = [];
    void slots.run(BIG, async () => {
      started.push('big');
      await g.promise;
    });
    void slots.run(SMALL, () => {
      started.push('small');
      return Promise.resolve();
    });
    await settle();
    expect(started).toEqual(['big']);
    g.open();
    await settle();
    await settle();
    expect(started).toEqual(['big', 'small']);
  });

  it('applies a raised limit on pump and a lowered one as downloads end', async () => {
    let limit = 1;
    const slots = new TransferSlots(() => limit);
    const gates = Array.from({ length: 4 }, gate);
    const done = gates.map((g) => slots.run(SMALL, () => g.promise));
    await settle();
    expect(slots.active).toBe(1);
    limit = 3;
    slots.pump();
    await settle();
    expect(slots.active).toBe(3);
    limit = 1;
    gates[0]?.open();
    gates[1]?.open();
    await settle();
    // Two ended; the one left running is already at the new limit, so the fourth still waits.
    expect(slots.active).toBe(1);
    expect(slots.queued).toBe(1);
    for (const g of gates) g.open();
    await Promise.all(done);
  });

  it('frees the slot when the download releases it, before its local work ends', async () => {
    const slots = new TransferSlots(() => 1);
    const local = gate();
    const started: string[] = [];
    const first = slots.run(SMALL, async (release) => {
      started.push('first');
      release();
      release(); // twice is harmless: one slot, freed once
      await local.promise;
    });
    const second = slots.run(SMALL, () => {
      started.push('second');
      return Promise.resolve();
    });
    await second;
    await settle();
    expect(started).toEqual(['first', 'second']);
    expect(slots.active).toBe(0);
    local.open();
    await first;
    expect(slots.active).toBe(0);
    expect(slots.mostActive).toBe(1);
  });

  it('frees the slot when a download fails, even synchronously', async () => {
    const slots = new TransferSlots(() => 1);
    await expect(slots.run(SMALL, () => Promise.reject(new Error('io')))).rejects.toThrow('io');
    await expect(
      slots.run(SMALL, () => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(slots.active).toBe(0);
    await expect(slots.run(SMALL, () => Promise.resolve(7))).resolves.toBe(7);
  });

  it('drops a waiting download whose signal aborts, with the signal reason', async () => {
    const slots = new TransferSlots(() => 1);
    const g = gate();
    void slots.run(SMALL, () => g.promise);
    const abort = new AbortController();
    let ran = false;
    const waiting = slots.run(
      SMALL,
      () => {
        ran = true;
        return Promise.resolve();
      },
      abort.signal,
    );
    abort.abort(new Error('folder stopped'));
    await expect(waiting).rejects.toThrow('folder stopped');
    expect(slots.queued).toBe(0);
    g.open();
    await settle();
    expect(ran).toBe(false);
  });

  it('lets up to SHARED_SLOT_FILES tiny files share one slot, and opens the next slot for the rest', async () => {
    const slots = new TransferSlots(() => 2);
    const gates = Array.from({ length: SHARED_SLOT_FILES * 2 + 1 }, gate);
    let running = 0;
    const done = gates.map((g) =>
      slots.run(TINY, async () => {
        running++;
        await g.promise;
        running--;
      }),
    );
    await settle();
    expect(running).toBe(SHARED_SLOT_FILES * 2);
    expect(slots.active).toBe(2);
    expect(slots.activeFiles).toBe(SHARED_SLOT_FILES * 2);
    expect(slots.queued).toBe(1);
    // One file of a full shared slot ending frees no slot: the last one waits for a whole slot.
    gates[0]?.open();
    await settle();
    expect(slots.queued).toBe(1);
    // The whole first slot ending starts it.
    for (const g of gates.slice(0, SHARED_SLOT_FILES)) g.open();
    await settle();
    expect(slots.queued).toBe(0);
    expect(slots.active).toBe(2);
    for (const g of gates) g.open();
    await Promise.all(done);
    expect(slots.active).toBe(0);
    expect(slots.activeFiles).toBe(0);
    expect(slots.mostActive).toBe(2);
  });

  it('caps the bytes a shared slot holds, and never shares one with a file over SHARED_SLOT_BYTES', async () => {
    const slots = new TransferSlots(() => 3);
    const perSlot = Math.floor(SHARED_SLOT_TOTAL_BYTES / SHARED_SLOT_BYTES);
    const gates = Array.from({ length: perSlot + 2 }, gate);
    const started: number[] = [];
    const done = gates.map((g, i) =>
      slots.run(i === perSlot + 1 ? SMALL : SHARED_SLOT_BYTES, async () => {
        started.push(i);
        await g.promise;
      }),
    );
    await settle();
    // perSlot full-sized tiny files fill the first slot's bytes; the next tiny one opens a second slot; SMALL takes a third.
    expect(started).toHaveLength(perSlot + 2);
    expect(slots.active).toBe(3);
    for (const g of gates) g.open();
    await Promise.all(done);
  });

  it('frees a shared slot once its files are done, so a big file gets it', async () => {
    const slots = new TransferSlots(() => 1);
    const tiny = Array.from({ length: 3 }, gate);
    const started: string[] = [];
    const done = tiny.map((g, i) =>
      slots.run(TINY, async () => {
        started.push(`tiny${i}`);
        await g.promise;
      }),
    );
    const big = slots.run(BIG, () => {
      started.push('big');
      return Promise.resolve();
    });
    await settle();
    expect(started).toEqual(['tiny0', 'tiny1', 'tiny2']);
    tiny[0]?.open();
    tiny[1]?.open();
    await settle();
    expect(started).not.toContain('big');
    tiny[2]?.open();
    await Promise.all([...done, big]);
    expect(started).toContain('big');
    // A tiny file after the slot was freed does not join the finished group: it gets a slot of its own.
    await slots.run(TINY, () => Promise.resolve());
    await settle();
    expect(slots.active).toBe(0);
    expect(slots.mostActive).toBe(1);
  });
});
