import { describe, expect, it } from 'vitest';
import { FailureBudget, sourceOf } from '../../src/transport/handshake-gate.js';

describe('sourceOf', () => {
  const cases: Array<{ address: string | undefined; source: string }> = [
    { address: '192.0.2.7', source: '192.0.2.7' },
    { address: '::ffff:192.0.2.7', source: '192.0.2.7' },
    { address: '::FFFF:192.0.2.7', source: '192.0.2.7' },
    { address: '2001:db8:1:2:3:4:5:6', source: '2001:db8:1:2::/64' },
    { address: '2001:db8:1:2::99', source: '2001:db8:1:2::/64' },
    { address: '2001:0db8:0001:0002:ffff::1', source: '2001:db8:1:2::/64' },
    { address: '2001:db8::1', source: '2001:db8:0:0::/64' },
    { address: 'fe80::1%eth0', source: 'fe80:0:0:0::/64' },
    { address: '::1', source: '0:0:0:0::/64' },
    { address: '64:ff9b::192.0.2.7', source: '64:ff9b:0:0::/64' },
    { address: undefined, source: '' },
  ];
  it.each(cases)('$address counts as $source', ({ address, source }) => {
    expect(sourceOf(address)).toBe(source);
  });
});

describe('FailureBudget', () => {
  it('item 11: lets a source start a burst of handshakes that fail, then refuses it until it refills, and never another source', () => {
    const budget = new FailureBudget({ burst: 3, perSecond: 2 });
    for (let i = 0; i < 3; i++) expect(budget.take('a', 0)).toBe(true);
    expect(budget.take('a', 0)).toBe(false);
    expect(budget.take('b', 0)).toBe(true);
    // Half a second at 2 per second: one more.
    expect(budget.take('a', 499)).toBe(false);
    expect(budget.take('a', 500)).toBe(true);
    expect(budget.take('a', 500)).toBe(false);
    // Refills up to the burst, no further.
    for (let i = 0; i < 3; i++) expect(budget.take('a', 100_000)).toBe(true);
    expect(budget.take('a', 100_000)).toBe(false);
  });

  it('item 11: gives the token back when a handshake succeeds, so successes never run a source dry', () => {
    const budget = new FailureBudget({ burst: 2, perSecond: 0.001 });
    for (let i = 0; i < 100; i++) {
      expect(budget.take('a', 0)).toBe(true);
      budget.giveBack('a', 0);
    }
    // Handshakes still in progress hold their tokens: a third at once is refused.
    expect(budget.take('a', 0)).toBe(true);
    expect(budget.take('a', 0)).toBe(true);
    expect(budget.take('a', 0)).toBe(false);
  });

  it('forgets the sources that took a token longest ago past its capacity, so many sources cannot grow it without bound', () => {
    const budget = new FailureBudget({ burst: 1, perSecond: 0.001 });
    for (let i = 0; i < 20_000; i++) budget.take(`s${i}`, 0);
    // The newest are still remembered (refused); the oldest were forgotten and start full again.
    expect(budget.take('s19999', 0)).toBe(false);
    expect(budget.take('s0', 0)).toBe(true);
  });
});
