/**
 * The serving budget on a fake clock: a flood of hashing is held to its
 * rate, block reads of another link do not wait behind it, links that want
 * the same rate share it by bytes, and a link's requests in flight are capped.
 */
import { describe, expect, it } from 'vitest';
import { ServeBudget } from '../../src/sync/serve/serve-budget.js';
import { FakeClock } from '../support/clock.js';

const MiB = 1024 * 1024;

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A budget on a fake clock with the default rates, and a log of which job started when. */
function harness() {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const budget = new ServeBudget({ clock });
  const started: string[] = [];
  /** Queues `n` jobs named `name-i` on `queue`, each finishing at once. */
  const flood = (queue: ReturnType<ServeBudget['open']>, name: string, n: number, cost: { readBytes: number; hashBytes: number }) =>
    Array.from({ length: n }, (_, i) =>
      queue.run(cost, () => {
        started.push(`${name}-${i}`);
        return Promise.resolve(i);
      }),
    );
  return { clock, budget, started, flood };
}

describe('ServeBudget', () => {
  it('holds one link\'s flood of 16 MiB sums to 64 MiB of hashing a second', async () => {
    const h = harness();
    const attacker = h.budget.open();
    void Promise.all(h.flood(attacker, 'sums', 40, { readBytes: 16 * MiB, hashBytes: 16 * MiB }));
    await settle();
    expect(h.started).toHaveLength(1);
    for (let ms = 0; ms < 2000; ms += 50) {
      h.clock.advance(50);
      await settle();
    }
    // One at once, then one every 250 ms: 9 in 2 s, where an unbudgeted node started all 40.
    expect(h.started).toHaveLength(9);
  });

  it('an honest link\'s block reads go at once while another link\'s hashing waits for its rate', async () => {
    const h = harness();
    const attacker = h.budget.open();
    const honest = h.budget.open();
    void Promise.all(h.flood(attacker, 'sums', 40, { readBytes: 16 * MiB, hashBytes: 16 * MiB }));
    await settle();
    const reads = h.flood(honest, 'block', 64, { readBytes: 256 * 1024, hashBytes: 0 });
    // The sums read 16 MiB, the blocks 16 MiB more: 32 ms at 1 GiB/s. The next 16 MiB of hashing is 250 ms away.
    for (let ms = 0; ms < 40; ms++) {
      h.clock.advance(1);
      await settle();
    }
    await expect(Promise.all(reads)).resolves.toHaveLength(64);
    expect(h.started.filter((s) => s.startsWith('sums'))).toHaveLength(1);
  });

  it('two links that both want hashing share it by bytes, the later one not waiting behind the first one\'s queue', async () => {
    const h = harness();
    const first = h.budget.open();
    const second = h.budget.open();
    void Promise.all(h.flood(first, 'a', 20, { readBytes: 0, hashBytes: 4 * MiB }));
    await settle();
    void Promise.all(h.flood(second, 'b', 20, { readBytes: 0, hashBytes: 4 * MiB }));
    for (let ms = 0; ms < 1000; ms += 10) {
      h.clock.advance(10);
      await settle();
    }
    const a = h.started.filter((s) => s.startsWith('a')).length;
    const b = h.started.filter((s) => s.startsWith('b')).length;
    expect(a + b).toBeGreaterThanOrEqual(16);
    expect(Math.abs(a - b)).toBeLessThanOrEqual(2);
  });

  it('works on at most 16 requests of a link at once; the rest wait their turn, and close drops them', async () => {
    const h = harness();
    const link = h.budget.open();
    const finish: Array<() => void> = [];
    const results = Array.from({ length: 20 }, () =>
      link.run({ readBytes: 1024, hashBytes: 0 }, () => {
        return new Promise<void>((resolve) => finish.push(resolve));
      }),
    );
    const tick = async () => {
      for (let i = 0; i < 5; i++) {
        h.clock.advance(1);
        await settle();
      }
    };
    await tick();
    expect(finish).toHaveLength(16);
    (finish[0] as () => void)();
    await tick();
    expect(finish).toHaveLength(17);
    link.close();
    for (const f of finish) f();
    const settled = await Promise.allSettled(results);
    expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(17);
    const codes = settled.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code?: string }).code] : []));
    expect(codes).toEqual(['CLOSED', 'CLOSED', 'CLOSED']);
  });

  it('work that throws rejects its request and frees its place', async () => {
    const h = harness();
    const link = h.budget.open();
    await expect(
      link.run({ readBytes: 1, hashBytes: 0 }, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const next = link.run({ readBytes: 1, hashBytes: 0 }, () => Promise.resolve('next'));
    h.clock.advance(1);
    await expect(next).resolves.toBe('next');
  });
});
